#include "libchat/address_limits.hpp"

#include <iterator>

namespace libchat {
namespace {

std::string password_key(const ip_address& ip, std::string_view room) {
  std::string key(reinterpret_cast<const char*>(ip.bytes.data()), ip.bytes.size());
  key.append(room);
  return key;
}

}  // namespace

address_limits::entry* address_limits::find_or_add(const ip_address& ip, time_point now) {
  auto it = entries_.find(ip);
  if (it != entries_.end()) return &it->second;
  if (entries_.size() >= config_.tracked) sweep(now);
  if (entries_.size() >= config_.tracked) return nullptr;
  return &entries_.emplace(ip, entry{0, 0, 0, 0, token_bucket(config_.handshake_rate, now)}).first->second;
}

address_limits::verdict address_limits::begin_handshake(const ip_address& ip, time_point now) {
  entry* e = find_or_add(ip, now);
  if (!e) return verdict::table_full;
  if (e->handshakes >= config_.handshakes) return verdict::too_many;
  if (!e->rate.take(now)) return verdict::too_fast;
  ++e->handshakes;
  return verdict::ok;
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
  entry* e = find_or_add(ip, now);
  const auto held = counter(what);
  if (!e || e->*held >= cap(what)) return false;
  ++(e->*held);
  return true;
}

void address_limits::release(address_resource what, const ip_address& ip, time_point now) {
  release(ip, counter(what), now);
}

void address_limits::release(const ip_address& ip, std::size_t entry::*held, time_point now) {
  auto it = entries_.find(ip);
  if (it == entries_.end() || it->second.*held == 0) return;
  --(it->second.*held);
  forget_if_idle(it, now);
}

bool address_limits::may_try_password(const ip_address& ip, std::string_view room, time_point now) {
  auto it = password_tries_.find(password_key(ip, room));
  return it == password_tries_.end() || it->second.can_take(now);
}

void address_limits::password_failed(const ip_address& ip, std::string_view room, time_point now) {
  const rate_limit limit{static_cast<double>(config_.password_failures) /
                             static_cast<double>(config_.password_window.count()),
                         static_cast<double>(config_.password_failures)};
  auto it = password_tries_.try_emplace(password_key(ip, room), limit, now).first;
  it->second.take(now);
  if (password_tries_.size() > config_.tracked) {
    // Forget the tries that have fully recovered; beyond that, the oldest state is lost first.
    for (auto i = password_tries_.begin(); i != password_tries_.end();)
      i = i->second.full(now) ? password_tries_.erase(i) : std::next(i);
  }
}

void address_limits::forget_if_idle(entries::iterator it, time_point now) {
  if (it->second.idle() && it->second.rate.full(now)) entries_.erase(it);
}

void address_limits::sweep(time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.idle() && it->second.rate.full(now)) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace libchat
