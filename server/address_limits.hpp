// Limits per client IP address on what the handshake port gives out: handshakes in progress and
// their rate, rooms hosted, tokens held, password attempts, password hashes in flight. Thread-safe
// (one mutex; the handshake path only, never the relay's). Entries that hold nothing are
// forgotten, and the table has a hard cap, so that addresses cannot grow it without bound.
#pragma once

#include "libchat/address.hpp"
#include "libchat/rate_limit.hpp"

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace chat_server {

struct address_limit_config {
  std::size_t handshakes = 8;                  ///< in progress at once, per address
  libchat::rate_limit handshake_rate{20, 40};  ///< new handshakes per second, per address (a join is two)
  std::size_t rooms = 16;                      ///< rooms hosted at once, per address
  std::size_t tokens = 256;                    ///< tokens held at once, per address (NAT-friendly)
  unsigned password_failures = 5;              ///< wrong passwords per (address, room) ...
  std::chrono::seconds password_window{300};   ///< ... within this window, then no more tries
  std::size_t tracked = 65536;                 ///< addresses tracked at most
};

class address_limits {
 public:
  explicit address_limits(const address_limit_config& config) : config_(config) {}

  enum class verdict { ok, too_many, too_fast, table_full };
  /// A TCP connection arrived from `ip`. If ok, call end_handshake when it closes.
  verdict begin_handshake(const libchat::ip_address& ip, libchat::time_point now);
  void end_handshake(const libchat::ip_address& ip);

  /// Reserve, then release, one of the address's rooms / tokens / password hashes in flight.
  bool reserve_room(const libchat::ip_address& ip);
  void release_room(const libchat::ip_address& ip);
  bool reserve_token(const libchat::ip_address& ip);
  void release_token(const libchat::ip_address& ip);
  bool reserve_hash(const libchat::ip_address& ip);
  void release_hash(const libchat::ip_address& ip);

  /// False while the address has used up its wrong passwords for this room.
  bool may_try_password(const libchat::ip_address& ip, std::string_view room, libchat::time_point now);
  void password_failed(const libchat::ip_address& ip, std::string_view room, libchat::time_point now);

  std::size_t tracked() const;

 private:
  struct entry {
    std::size_t handshakes = 0, rooms = 0, tokens = 0, hashes = 0;
    libchat::token_bucket rate;
    bool idle() const noexcept { return handshakes == 0 && rooms == 0 && tokens == 0 && hashes == 0; }
  };
  struct ip_hash {
    std::size_t operator()(const libchat::ip_address& ip) const noexcept {
      return libchat::peer_address_hash{}({ip, 0});
    }
  };
  using entries = std::unordered_map<libchat::ip_address, entry, ip_hash>;

  entry* find_or_add(const libchat::ip_address& ip, libchat::time_point now);
  void release(const libchat::ip_address& ip, std::size_t entry::*counter);
  bool reserve(const libchat::ip_address& ip, std::size_t entry::*counter, std::size_t cap);
  void forget_if_idle(entries::iterator it, libchat::time_point now);
  void sweep(libchat::time_point now);

  address_limit_config config_;
  mutable std::mutex mutex_;
  entries entries_;
  // Wrong passwords by address and room: the key is the address bytes then the room name.
  std::unordered_map<std::string, libchat::token_bucket> password_tries_;
};

}  // namespace chat_server
