#include "address_gate.hpp"

#include <chrono>

namespace chat_server {
namespace {

libchat::time_point now() { return std::chrono::steady_clock::now(); }

}  // namespace

libchat::address_limits::verdict address_gate::begin_handshake(const libchat::ip_address& ip) {
  std::lock_guard lock(mutex_);
  return limits_.begin_handshake(ip, now());
}

void address_gate::end_handshake(const libchat::ip_address& ip) {
  std::lock_guard lock(mutex_);
  limits_.end_handshake(ip, now());
}

bool address_gate::reserve(resource what, const libchat::ip_address& ip) {
  std::lock_guard lock(mutex_);
  return limits_.reserve(what, ip, now());
}

void address_gate::release(resource what, const libchat::ip_address& ip) {
  std::lock_guard lock(mutex_);
  limits_.release(what, ip, now());
}

libchat::hash_grant address_gate::reserve_hash(const libchat::ip_address& ip, std::string_view room) {
  std::lock_guard lock(mutex_);
  return limits_.reserve_hash(ip, room, now());
}

libchat::ip_address address_gate::client_of(const libchat::ip_address& ip) const {
  // The prefix never changes after start: no lock needed.
  return libchat::counted_client(ip, limits_.config().ipv6_prefix);
}

libchat::password_budget address_gate::may_try_password(const libchat::ip_address& ip, std::string_view room) {
  std::lock_guard lock(mutex_);
  return limits_.may_try_password(ip, room, now());
}

void address_gate::password_failed(const libchat::ip_address& ip, std::string_view room) {
  std::lock_guard lock(mutex_);
  limits_.password_failed(ip, room, now());
}

std::size_t address_gate::tracked() const {
  std::lock_guard lock(mutex_);
  return limits_.tracked();
}

}  // namespace chat_server
