// Refusing replayed sealed requests (docs/protocol.md §12.3). A sealed request carries the time the
// client sealed it and a fresh ephemeral key; the server takes it only if that time is within
// `skew` of its own clock and it has not seen the ephemeral before. WireGuard keeps the greatest
// timestamp per peer; our clients have no identity before the handshake, so the server remembers
// every ephemeral for as long as its request could still pass the time check instead.
//
// Bounded, with O(1) work per request: entries leave oldest first, from a FIFO ordered by
// arrival. When the cache is full an entry may have to go before its request has left the
// window; the cache then refuses every request sealed at or before the newest time it forgot
// (`crowded`): a replay is never taken, at the price of refusing honest requests sealed no later
// than that until the clock passes it. The same floor covers a server clock that jumps back.
// Plain state with time passed in; not thread-safe (chat-server holds a lock around it).
#pragma once

#include "libchat/export.hpp"
#include "libchat/secure_handshake.hpp"
#include "libchat/time.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_set>

namespace libchat {

struct replay_cache_config {
  /// A request is taken if the time it carries is at most this far from the server's clock,
  /// either way (clock skew, plus the time in flight).
  std::chrono::seconds skew{60};
  /// Ephemeral keys remembered at most: 2·skew of handshakes. 65,536 lasts 121 s at 541 fresh
  /// sealed requests per second; past that rate the cache starts refusing as `crowded`.
  std::size_t capacity = 65536;
};

/// Why a sealed request is refused, or that it is not.
enum class freshness : std::uint8_t {
  fresh,     ///< taken: its ephemeral is now remembered
  replayed,  ///< its ephemeral was seen within the window
  too_old,   ///< sealed more than skew before the server's clock
  too_new,   ///< sealed more than skew after it
  crowded,   ///< sealed at or before a time whose ephemerals the cache had to forget
};

/// What server_exchange asks of the server's memory of sealed requests. chat-server implements
/// it around a replay_cache under its lock; a single-threaded embedder can use a replay_cache.
class LIBCHAT_EXPORT replay_ledger {
 public:
  /// Decides on a request that verified: its client ephemeral, the time it carries, and the
  /// server's wall-clock time now. Remembers the ephemeral when it answers fresh.
  virtual freshness first_sight(const public_key& ephemeral, wall_time sent_at, wall_time now) = 0;

 protected:
  ~replay_ledger() = default;
};

class LIBCHAT_EXPORT replay_cache final : public replay_ledger {
 public:
  explicit replay_cache(const replay_cache_config& config = {});

  freshness first_sight(const public_key& ephemeral, wall_time sent_at, wall_time now) override;

  const replay_cache_config& config() const noexcept { return config_; }
  /// Ephemeral keys remembered now.
  std::size_t size() const noexcept { return by_arrival_.size(); }
  /// Entries forgotten before their request left the window (the cache was full).
  std::uint64_t evicted_early() const noexcept { return evicted_early_; }

 private:
  struct entry {
    public_key ephemeral;
    wall_time sent_at;
    wall_time forget_at;
  };
  struct key_hash {
    std::size_t operator()(const public_key& k) const noexcept;
  };

  void forget_oldest();

  replay_cache_config config_;
  std::deque<entry> by_arrival_;
  std::unordered_set<public_key, key_hash> seen_;
  /// Requests sealed at or before this are refused: an ephemeral of theirs may have been forgotten.
  wall_time floor_ = wall_time::min();
  wall_time latest_now_ = wall_time::min();
  std::uint64_t evicted_early_ = 0;
};

}  // namespace libchat
