// The per-address admission policy (libchat::address_limits) shared by every handshake, behind
// one mutex, with the server's clock. Only the handshake path takes the lock, never the relay.
#pragma once

#include "libchat/address_limits.hpp"
#include "libchat/server_exchange.hpp"

#include <mutex>

namespace chat_server {

class address_gate final : public libchat::admission_ledger {
 public:
  explicit address_gate(const libchat::address_limit_config& config) : limits_(config) {}

  /// A TCP connection arrived from `ip`. If ok, call end_handshake when it closes.
  libchat::address_limits::verdict begin_handshake(const libchat::ip_address& ip);
  void end_handshake(const libchat::ip_address& ip);

  bool reserve(resource what, const libchat::ip_address& ip) override;
  void release(resource what, const libchat::ip_address& ip) override;
  libchat::hash_grant reserve_hash(const libchat::ip_address& ip, std::string_view room) override;
  libchat::password_budget may_try_password(const libchat::ip_address& ip, std::string_view room) override;
  void password_failed(const libchat::ip_address& ip, std::string_view room) override;

  std::size_t tracked() const;
  /// The client `ip` counts as (its IPv6 prefix), as the hash queue keys its jobs.
  libchat::ip_address client_of(const libchat::ip_address& ip) const;

 private:
  mutable std::mutex mutex_;
  libchat::address_limits limits_;
};

}  // namespace chat_server
