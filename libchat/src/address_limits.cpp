#include "libchat/address_limits.hpp"

#include <algorithm>

namespace libchat {
namespace {

std::string password_key(const ip_address& client, std::string_view room) {
  std::string key(reinterpret_cast<const char*>(client.bytes.data()), client.bytes.size());
  key.append(room);
  return key;
}

rate_limit failures_per(unsigned failures, std::chrono::seconds window) {
  return {static_cast<double>(failures) / static_cast<double>(std::max<long long>(1, window.count())),
          static_cast<double>(failures)};
}

}  // namespace

ip_address counted_client(const ip_address& ip, unsigned ipv6_prefix) noexcept {
  if (ip.is_v4() || ipv6_prefix >= 128) return ip;
  ip_address client = ip;
  const unsigned whole = ipv6_prefix / 8, bits = ipv6_prefix % 8;
  if (bits != 0) client.bytes[whole] &= static_cast<std::uint8_t>(0xff << (8 - bits));
  std::fill(client.bytes.begin() + whole + (bits != 0 ? 1 : 0), client.bytes.end(), std::uint8_t{0});
  return client;
}

// ---- clients ----

address_limits::entry* address_limits::find(const ip_address& client) {
  auto it = entries_.find(client);
  return it == entries_.end() ? nullptr : &it->second;
}

address_limits::entry* address_limits::find_or_add(const ip_address& client, time_point now) {
  if (entry* e = find(client)) {
    wake(*e);
    return e;
  }
  forget_recovered(now);
  if (entries_.size() >= config_.tracked && !idle_.empty()) {
    // Full: the client that has waited longest holding nothing makes room.
    entries_.erase(idle_.front());
    idle_.pop_front();
  }
  if (entries_.size() >= config_.tracked) return nullptr;
  return &entries_
              .emplace(client, entry{.rate = token_bucket(config_.handshake_rate, now),
                                     .hash_rate = token_bucket(config_.hash_rate, now)})
              .first->second;
}

// The entry is about to hold something: it is no longer a candidate for forgetting.
void address_limits::wake(entry& e) {
  if (!e.waiting) return;
  idle_.erase(e.place);
  e.waiting = false;
}

// After a release: an entry holding nothing is forgotten if its rate carries no information any
// more, else it queues as the youngest idle one.
void address_limits::settle(entries::iterator it, time_point now) {
  entry& e = it->second;
  if (!e.idle() || e.waiting) return;
  if (e.recovered(now)) {
    entries_.erase(it);
    return;
  }
  e.place = idle_.insert(idle_.end(), it->first);
  e.waiting = true;
}

// Idle entries queue in the order they went idle, so the front is roughly the first to recover:
// looking only there is amortised O(1), and one that recovered behind a slower one waits its
// turn (the table's cap bounds them either way).
void address_limits::forget_recovered(time_point now) {
  while (!idle_.empty()) {
    auto it = entries_.find(idle_.front());
    if (!it->second.recovered(now)) return;
    idle_.pop_front();
    entries_.erase(it);
  }
}

address_limits::verdict address_limits::begin_handshake(const ip_address& ip, time_point now) {
  const ip_address client = client_of(ip);
  entry* e = find_or_add(client, now);
  if (!e) return verdict::table_full;
  verdict v = verdict::ok;
  if (e->handshakes >= config_.handshakes) {
    v = verdict::too_many;
  } else if (!e->rate.take(now)) {
    v = verdict::too_fast;
  } else {
    ++e->handshakes;
  }
  if (v != verdict::ok) settle(entries_.find(client), now);
  return v;
}

void address_limits::end_handshake(const ip_address& ip, time_point now) { release(ip, &entry::handshakes, now); }

std::size_t address_limits::entry::*address_limits::counter(address_resource what) const noexcept {
  switch (what) {
    case address_resource::room: return &entry::rooms;
    case address_resource::token: return &entry::tokens;
    case address_resource::hash: break;
  }
  return &entry::hashes;
}

std::size_t address_limits::cap(address_resource what) const noexcept {
  switch (what) {
    case address_resource::room: return config_.rooms;
    case address_resource::token: return config_.tokens;
    case address_resource::hash: break;
  }
  return 1;
}

bool address_limits::reserve(address_resource what, const ip_address& ip, time_point now) {
  if (what == address_resource::hash) return reserve_hash(ip, {}, now).granted();
  const ip_address client = client_of(ip);
  entry* e = find_or_add(client, now);
  if (!e) return false;
  const auto held = counter(what);
  if (e->*held >= cap(what)) {
    settle(entries_.find(client), now);
    return false;
  }
  ++(e->*held);
  return true;
}

hash_grant address_limits::reserve_hash(const ip_address& ip, std::string_view room, time_point now) {
  using grant_verdict = hash_grant::verdict;
  const ip_address client = client_of(ip);
  entry* e = find_or_add(client, now);
  if (!e) return {grant_verdict::table_full};
  hash_grant grant{grant_verdict::granted};
  // The slot first: a refusal for a hash in flight spends nothing of the budget.
  if (e->hashes >= 1) {
    grant.what = grant_verdict::in_flight;
  } else if (!e->hash_rate.take(now)) {
    grant.what = grant_verdict::too_fast;
  } else {
    ++e->hashes;
    const auto fraction = [](const rate_limit& limit, double left) {
      return limit.unlimited() ? 1.0 : left / std::max(1.0, limit.burst);
    };
    const double client_left = fraction(config_.hash_rate, e->hash_rate.left(now));
    const double room_left =
        fraction(config_.room_hash_rate,
                 config_.room_hash_rate.unlimited()
                     ? 0
                     : room_hashes_.take_left(std::string(room), config_.room_hash_rate, config_.tracked, now));
    grant.budget_left = std::min(client_left, room_left);
  }
  if (!grant.granted()) settle(entries_.find(client), now);
  return grant;
}

void address_limits::release(address_resource what, const ip_address& ip, time_point now) {
  release(ip, counter(what), now);
}

void address_limits::release(const ip_address& ip, std::size_t entry::*held, time_point now) {
  auto it = entries_.find(client_of(ip));
  if (it == entries_.end() || it->second.*held == 0) return;
  --(it->second.*held);
  settle(it, now);
}

// ---- wrong passwords ----

bool address_limits::aging_buckets::can_take(const std::string& key, time_point now) {
  auto it = buckets_.find(key);
  return it == buckets_.end() || it->second.tokens.can_take(now);
}

void address_limits::aging_buckets::take(const std::string& key, const rate_limit& limit, std::size_t cap,
                                         time_point now) {
  auto [it, added] = buckets_.try_emplace(key);
  if (added) {
    it->second.tokens = token_bucket(limit, now);
  } else {
    order_.erase(it->second.place);
  }
  it->second.place = order_.insert(order_.end(), key);
  it->second.tokens.take(now);
  // Recovered buckets carry nothing; past the cap, the least recently charged one goes first.
  while (!order_.empty()) {
    auto oldest = buckets_.find(order_.front());
    if (buckets_.size() <= cap && !oldest->second.tokens.full(now)) break;
    order_.pop_front();
    buckets_.erase(oldest);
  }
}

double address_limits::aging_buckets::take_left(const std::string& key, const rate_limit& limit, std::size_t cap,
                                                time_point now) {
  take(key, limit, cap, now);
  auto it = buckets_.find(key);
  return it == buckets_.end() ? limit.burst : it->second.tokens.left(now);
}

password_budget address_limits::may_try_password(const ip_address& ip, std::string_view room, time_point now) {
  if (!client_passwords_.can_take(password_key(client_of(ip), room), now)) return password_budget::client_spent;
  if (config_.room_password_failures != 0 && !room_passwords_.can_take(std::string(room), now))
    return password_budget::room_spent;
  return password_budget::open;
}

void address_limits::password_failed(const ip_address& ip, std::string_view room, time_point now) {
  client_passwords_.take(password_key(client_of(ip), room),
                         failures_per(config_.password_failures, config_.password_window), config_.tracked, now);
  if (config_.room_password_failures != 0) {
    room_passwords_.take(std::string(room), failures_per(config_.room_password_failures, config_.room_password_window),
                         config_.tracked, now);
  }
}

}  // namespace libchat
