// What the handshake port gives out per client IP address: handshakes in progress and their rate,
// rooms hosted, tokens held, password hashes in flight, and wrong passwords per room. Plain state
// with time passed in; not thread-safe (the server holds one lock around it, on the handshake path
// only, never the relay's). Entries that hold nothing are forgotten, and the table has a hard cap,
// so that addresses cannot grow it without bound.
#pragma once

#include "libchat/address.hpp"
#include "libchat/export.hpp"
#include "libchat/rate_limit.hpp"
#include "libchat/time.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace libchat {

struct address_limit_config {
  std::size_t handshakes = 8;         ///< in progress at once, per address
  rate_limit handshake_rate{20, 40};  ///< new handshakes per second, per address (a join is two)
  std::size_t rooms = 16;             ///< rooms hosted at once, per address
  std::size_t tokens = 256;           ///< tokens held at once, per address (NAT-friendly)
  unsigned password_failures = 5;     ///< wrong passwords per (address, room) ...
  std::chrono::seconds password_window{300};  ///< ... within this window, then no more tries
  std::size_t tracked = 65536;                ///< addresses tracked at most
};

/// What an address may still hold; reserve one, release it when it ends.
enum class address_resource : std::uint8_t { room, token, hash };

class LIBCHAT_EXPORT address_limits {
 public:
  explicit address_limits(const address_limit_config& config) : config_(config) {}

  const address_limit_config& config() const noexcept { return config_; }

  enum class verdict { ok, too_many, too_fast, table_full };
  /// A TCP connection arrived from `ip`. If ok, call end_handshake when it closes.
  verdict begin_handshake(const ip_address& ip, time_point now);
  void end_handshake(const ip_address& ip, time_point now);

  /// Reserves one room / token / hash of the address; false when it holds as many as it may.
  /// One hash in flight per address: a storm of password joins from one place waits its turn.
  bool reserve(address_resource what, const ip_address& ip, time_point now);
  void release(address_resource what, const ip_address& ip, time_point now);

  /// False while the address has used up its wrong passwords for this room.
  bool may_try_password(const ip_address& ip, std::string_view room, time_point now);
  void password_failed(const ip_address& ip, std::string_view room, time_point now);

  /// Addresses tracked (holding something, or with a handshake rate not yet recovered).
  std::size_t tracked() const noexcept { return entries_.size(); }
  /// (address, room) pairs whose wrong passwords are remembered.
  std::size_t password_entries() const noexcept { return password_tries_.size(); }

 private:
  struct entry {
    std::size_t handshakes = 0, rooms = 0, tokens = 0, hashes = 0;
    token_bucket rate;
    bool idle() const noexcept { return handshakes == 0 && rooms == 0 && tokens == 0 && hashes == 0; }
  };
  struct ip_hash {
    std::size_t operator()(const ip_address& ip) const noexcept { return peer_address_hash{}({ip, 0}); }
  };
  using entries = std::unordered_map<ip_address, entry, ip_hash>;

  entry* find_or_add(const ip_address& ip, time_point now);
  std::size_t entry::*counter(address_resource what) const noexcept;
  std::size_t cap(address_resource what) const noexcept;
  void release(const ip_address& ip, std::size_t entry::*counter, time_point now);
  void forget_if_idle(entries::iterator it, time_point now);
  void sweep(time_point now);

  address_limit_config config_;
  entries entries_;
  // Wrong passwords by address and room: the key is the address bytes then the room name.
  std::unordered_map<std::string, token_bucket> password_tries_;
};

}  // namespace libchat
