// How handshakes end, and how long the ones let in took: counted once per handshake connection,
// where it ends (never per datagram), with relaxed atomics, so that recording never locks. Read
// at scrape time into a metrics_snapshot.
#pragma once

#include "libchat/error.hpp"
#include "libchat/server_exchange.hpp"
#include "metrics_text.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace chat_server {

inline constexpr std::size_t tcrp_error_count = 0
#define LIBCHAT_TCRP_ERROR(name, status) +1
#include "libchat/tcrp_errors.def"
#undef LIBCHAT_TCRP_ERROR
    ;

inline constexpr std::size_t refusal_count = 0
#define LIBCHAT_REFUSAL(name, wire, sentence) +1
#include "libchat/refusals.def"
#undef LIBCHAT_REFUSAL
    ;

/// Upper bounds of the handshake duration buckets, in seconds. A handshake on a near network takes
/// a millisecond or two, one with a password about the hash's 130 ms (more when the hash queue is
/// busy), and none more than --handshake-timeout (5 s by default).
inline constexpr std::array<double, 14> handshake_duration_bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                                  0.1,    0.25,  0.5,    1,     2.5,  5,     10};

class handshake_stats {
 public:
  /// A handshake connection that sent its last answer. `let_in`: the listener let it in (it was
  /// not only told server_busy or rate_limited at the door); only those are timed.
  void answered(const libchat::exchange_outcome& outcome, bool let_in,
                std::chrono::steady_clock::duration took) noexcept;
  /// A handshake connection that ended without an answer: the client left, or the deadline passed.
  void abandoned() noexcept { add(abandoned_); }
  /// A connection the listener closed at once, without reading it, because it was far over the limits.
  void unanswered() noexcept { add(unanswered_); }

  /// Fills the snapshot's handshakes, refusals and handshake_duration.
  void sample(metrics_snapshot& into) const;

 private:
  struct alignas(64) cell {
    std::atomic<std::uint64_t> value{0};
  };
  static void add(cell& c, std::uint64_t n = 1) noexcept { c.value.fetch_add(n, std::memory_order_relaxed); }
  static std::uint64_t get(const cell& c) noexcept { return c.value.load(std::memory_order_relaxed); }

  cell created_, joined_, key_sent_, abandoned_, unanswered_;
  std::array<cell, tcrp_error_count> refused_by_code_{};
  std::array<cell, refusal_count> refused_by_reason_{};
  std::array<cell, handshake_duration_bounds.size() + 1> duration_buckets_{};  // the last one is +Inf
  cell duration_sum_ns_;
};

}  // namespace chat_server
