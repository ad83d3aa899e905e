// Datagram accounting. Every datagram received ends in exactly one bucket (relayed, keepalive,
// control, or a drop reason), so that received = relayed + keepalive + control + dropped holds
// exactly and a test can check it. Relaxed atomics, one cache line each: counting never locks.
#pragma once

#include "libchat/error.hpp"
#include "libchat/room_output.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace chat_server {

enum class counter : std::uint8_t {
  received,          ///< datagrams read from the chat socket
  relayed,           ///< chat messages relayed to their room
  keepalive,         ///< keepalives answered with pong
  control,           ///< control messages handled (leave)
  dropped,           ///< sum of the drop reasons below
  sent,              ///< datagrams sent (relayed copies and notices)
  send_would_block,  ///< sends dropped because the socket buffer was full (real time beats reliable)
  send_error,        ///< sends the kernel refused
  icmp_errors,       ///< delivery errors the kernel reported (IP_RECVERR)
  kernel_drops,      ///< datagrams the kernel dropped before we could read them (full buffer, SO_RXQ_OVFL)
  lobby_received,
  lobby_relayed,
  lobby_keepalive,
  lobby_dropped,
  count_
};

/// Gauges sampled for the stats line.
struct gauges {
  std::size_t rooms = 0;
  std::size_t members = 0;
  std::size_t handshakes = 0;
  std::size_t hash_queue = 0;
  std::uint64_t hash_evicted = 0;    ///< queued hashes dropped for a client with more budget left
  std::uint64_t hash_cancelled = 0;  ///< queued hashes dropped because their connection ended
  std::size_t lobby_members = 0;
  std::uint64_t handler_heap_fallbacks = 0;
};

class counters {
 public:
  void add(counter c, std::uint64_t n = 1) noexcept {
    values_[static_cast<std::size_t>(c)].value.fetch_add(n, std::memory_order_relaxed);
  }
  void drop(libchat::errc reason) noexcept {
    add(counter::dropped);
    drops_[static_cast<std::size_t>(reason)].value.fetch_add(1, std::memory_order_relaxed);
  }
  /// Records a room's verdict on a datagram already counted as received.
  void outcome(const libchat::datagram_outcome& o) noexcept;
  void lobby_outcome(const libchat::datagram_outcome& o) noexcept;

  std::uint64_t get(counter c) const noexcept {
    return values_[static_cast<std::size_t>(c)].value.load(std::memory_order_relaxed);
  }
  std::uint64_t dropped_for(libchat::errc reason) const noexcept {
    return drops_[static_cast<std::size_t>(reason)].value.load(std::memory_order_relaxed);
  }

  /// "received=… relayed=… keepalive=… control=… dropped=… (bad_token=…) sent=… rooms=…"
  std::string stats_line(const gauges& g) const;

 private:
  struct alignas(64) cell {
    std::atomic<std::uint64_t> value{0};
  };
  std::array<cell, static_cast<std::size_t>(counter::count_)> values_{};
  std::array<cell, libchat::errc_count> drops_{};  // indexed by libchat::errc
};

}  // namespace chat_server
