// What the handshake port gives out per client: handshakes in progress and their rate, rooms
// hosted, tokens held, password hashes in flight, and wrong passwords per room. A client is an
// IPv4 address, or an IPv6 prefix (a /64 by default: one host or one LAN usually owns a whole
// one, so counting single IPv6 addresses would make every limit unlimited). Plain state with time
// passed in; not thread-safe (the server holds one lock around it, on the handshake path only,
// never the relay's).
//
// Every table is bounded, and every bound is kept in O(1): a client that holds nothing is
// forgotten at once if its handshake rate has recovered, else it waits in an age-ordered list and
// is the first forgotten when the table is full (its rate then starts afresh, which costs an
// attacker more addresses than it saves). Wrong passwords are remembered the same way, oldest
// first out. A table full of clients that all hold something (real handshakes, rooms, tokens)
// refuses new ones: those are bounded by the server's own limits.
#pragma once

#include "libchat/address.hpp"
#include "libchat/export.hpp"
#include "libchat/rate_limit.hpp"
#include "libchat/time.hpp"

#include <chrono>
#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace libchat {

struct address_limit_config {
  std::size_t handshakes = 8;         ///< in progress at once, per address
  rate_limit handshake_rate{20, 40};  ///< new handshakes per second, per address (a join is two)
  std::size_t rooms = 16;             ///< rooms hosted at once, per address
  std::size_t tokens = 256;           ///< tokens held at once, per address (NAT-friendly)
  /// Password hashes started per second, per address, on average and at once (on top of one in
  /// flight). A correct password costs the server a hash as much as a wrong one, so this is the
  /// bound on what a client who knows one password can spend; what is left of it also orders
  /// the hash queue (the client that has spent least goes first).
  rate_limit hash_rate{0.5, 10};
  /// Password hashes per second for one room, from all clients together, on average and at
  /// once. Never a refusal (that would let anyone shut a room's door by guessing): only the
  /// order of the hash queue, so that hashes for a room that gets many wait behind the others.
  rate_limit room_hash_rate{1, 10};
  unsigned password_failures = 5;             ///< wrong passwords per (client, room) ...
  std::chrono::seconds password_window{300};  ///< ... within this window, then no more tries
  /// Wrong passwords per room from all clients together, within room_password_window: guesses
  /// spread over many addresses stop there too (0: no such limit).
  unsigned room_password_failures = 30;
  std::chrono::seconds room_password_window{60};
  std::size_t tracked = 65536;  ///< clients tracked at most (and as many password entries)
  unsigned ipv6_prefix = 64;    ///< an IPv6 client is this prefix of its address (1–128)
};

/// What an address may still hold; reserve one, release it when it ends.
enum class address_resource : std::uint8_t { room, token, hash };

/// The answer to reserve_hash: granted, with its standing (what is left after this hash of the
/// client's budget and of the room's, the smaller of the two as a fraction of its burst: 1 for
/// someone who has not hashed lately, for a room that has not had hashes lately), or refused
/// because one is in flight or the client's budget is spent.
struct hash_grant {
  enum class verdict : std::uint8_t { granted, in_flight, too_fast, table_full };
  verdict what = verdict::granted;
  double budget_left = 0;
  bool granted() const noexcept { return what == verdict::granted; }
};

/// Whether a password may be checked for a room, and if not, whose budget is spent.
enum class password_budget : std::uint8_t { open, client_spent, room_spent };

/// The client an address counts as: an IPv4 address itself, an IPv6 address with every bit past
/// `ipv6_prefix` cleared.
LIBCHAT_EXPORT ip_address counted_client(const ip_address& ip, unsigned ipv6_prefix) noexcept;

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
  /// Reserves the address's hash slot and takes one hash from its budget (reserve(hash) does the
  /// same and says only yes or no). Release the slot with release(hash) when the hash is done.
  /// `room`: the room the password is for (a create's new room, a join's).
  hash_grant reserve_hash(const ip_address& ip, std::string_view room, time_point now);

  /// Whether the client may try a password for this room now (no hashing before this says so).
  password_budget may_try_password(const ip_address& ip, std::string_view room, time_point now);
  void password_failed(const ip_address& ip, std::string_view room, time_point now);

  /// Clients tracked (holding something, or with a handshake rate not yet recovered).
  std::size_t tracked() const noexcept { return entries_.size(); }
  /// (client, room) pairs whose wrong passwords are remembered.
  std::size_t password_entries() const noexcept { return client_passwords_.size(); }
  /// Rooms whose wrong passwords from all clients are remembered.
  std::size_t room_password_entries() const noexcept { return room_passwords_.size(); }

 private:
  struct entry {
    std::size_t handshakes = 0, rooms = 0, tokens = 0, hashes = 0;
    token_bucket rate;
    token_bucket hash_rate;
    bool waiting = false;                   // holds nothing, in idle_ until its rate recovers
    std::list<ip_address>::iterator place;  // in idle_, while waiting
    bool idle() const noexcept { return handshakes == 0 && rooms == 0 && tokens == 0 && hashes == 0; }
    /// Both rates recovered: forgetting the entry loses nothing.
    bool recovered(time_point now) noexcept { return rate.full(now) && hash_rate.full(now); }
  };
  struct ip_hash {
    std::size_t operator()(const ip_address& ip) const noexcept { return peer_address_hash{}({ip, 0}); }
  };
  using entries = std::unordered_map<ip_address, entry, ip_hash>;

  /// Token buckets by key, at most `cap`, the least recently charged forgotten first.
  class aging_buckets {
   public:
    bool can_take(const std::string& key, time_point now);
    void take(const std::string& key, const rate_limit& limit, std::size_t cap, time_point now);
    /// Takes one if there is one, and says how many are left.
    double take_left(const std::string& key, const rate_limit& limit, std::size_t cap, time_point now);
    std::size_t size() const noexcept { return buckets_.size(); }

   private:
    struct bucket {
      token_bucket tokens;
      std::list<std::string>::iterator place;
    };
    std::unordered_map<std::string, bucket> buckets_;
    std::list<std::string> order_;  // oldest charge first
  };

  ip_address client_of(const ip_address& ip) const noexcept { return counted_client(ip, config_.ipv6_prefix); }
  entry* find_or_add(const ip_address& client, time_point now);
  entry* find(const ip_address& client);
  std::size_t entry::*counter(address_resource what) const noexcept;
  std::size_t cap(address_resource what) const noexcept;
  void release(const ip_address& ip, std::size_t entry::*counter, time_point now);
  void settle(entries::iterator it, time_point now);
  void forget_recovered(time_point now);
  void wake(entry& e);

  address_limit_config config_;
  entries entries_;
  std::list<ip_address> idle_;      // clients holding nothing whose rate has not recovered, oldest first
  aging_buckets client_passwords_;  // key: the client's bytes, then the room name
  aging_buckets room_passwords_;    // key: the room name
  aging_buckets room_hashes_;       // key: the room name
};

}  // namespace libchat
