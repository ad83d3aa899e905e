#include "address_limits.hpp"

namespace chat_server {
namespace {

libchat::time_point now_or_zero() { return std::chrono::steady_clock::now(); }

std::string password_key(const libchat::ip_address& ip, std::string_view room) {
  std::string key(reinterpret_cast<const char*>(ip.bytes.data()), ip.bytes.size());
  key.append(room);
  return key;
}

}  // namespace

address_limits::entry* address_limits::find_or_add(const libchat::ip_address& ip, libchat::time_point now) {
  auto it = entries_.find(ip);
  if (it != entries_.end()) return &it->second;
  if (entries_.size() >= config_.tracked) sweep(now);
  if (entries_.size() >= config_.tracked) return nullptr;
  return &entries_.emplace(ip, entry{0, 0, 0, 0, libchat::token_bucket(config_.handshake_rate, now)}).first->second;
}

address_limits::verdict address_limits::begin_handshake(const libchat::ip_address& ip, libchat::time_point now) {
  std::lock_guard lock(mutex_);
  entry* e = find_or_add(ip, now);
  if (!e) return verdict::table_full;
  if (e->handshakes >= config_.handshakes) return verdict::too_many;
  if (!e->rate.take(now)) return verdict::too_fast;
  ++e->handshakes;
  return verdict::ok;
}

void address_limits::end_handshake(const libchat::ip_address& ip) { release(ip, &entry::handshakes); }

bool address_limits::reserve(const libchat::ip_address& ip, std::size_t entry::*counter, std::size_t cap) {
  std::lock_guard lock(mutex_);
  entry* e = find_or_add(ip, now_or_zero());
  if (!e || e->*counter >= cap) return false;
  ++(e->*counter);
  return true;
}

void address_limits::release(const libchat::ip_address& ip, std::size_t entry::*counter) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(ip);
  if (it == entries_.end() || it->second.*counter == 0) return;
  --(it->second.*counter);
  forget_if_idle(it, now_or_zero());
}

bool address_limits::reserve_room(const libchat::ip_address& ip) { return reserve(ip, &entry::rooms, config_.rooms); }
void address_limits::release_room(const libchat::ip_address& ip) { release(ip, &entry::rooms); }
bool address_limits::reserve_token(const libchat::ip_address& ip) { return reserve(ip, &entry::tokens, config_.tokens); }
void address_limits::release_token(const libchat::ip_address& ip) { release(ip, &entry::tokens); }
// One hash in flight per address: a storm of password joins from one place waits its turn.
bool address_limits::reserve_hash(const libchat::ip_address& ip) { return reserve(ip, &entry::hashes, 1); }
void address_limits::release_hash(const libchat::ip_address& ip) { release(ip, &entry::hashes); }

bool address_limits::may_try_password(const libchat::ip_address& ip, std::string_view room, libchat::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = password_tries_.find(password_key(ip, room));
  return it == password_tries_.end() || it->second.can_take(now);
}

void address_limits::password_failed(const libchat::ip_address& ip, std::string_view room, libchat::time_point now) {
  std::lock_guard lock(mutex_);
  const libchat::rate_limit limit{static_cast<double>(config_.password_failures) /
                                      static_cast<double>(config_.password_window.count()),
                                  static_cast<double>(config_.password_failures)};
  auto [it, added] = password_tries_.try_emplace(password_key(ip, room), limit, now);
  (void)added;
  it->second.take(now);
  if (password_tries_.size() > config_.tracked) {
    // Forget the tries that have fully recovered; beyond that, the oldest state is lost first.
    for (auto i = password_tries_.begin(); i != password_tries_.end();)
      i = i->second.full(now) ? password_tries_.erase(i) : std::next(i);
  }
}

void address_limits::forget_if_idle(entries::iterator it, libchat::time_point now) {
  if (it->second.idle() && it->second.rate.full(now)) entries_.erase(it);
}

void address_limits::sweep(libchat::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.idle() && it->second.rate.full(now)) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

std::size_t address_limits::tracked() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace chat_server
