// The one clock of chat-bench: CLOCK_MONOTONIC in nanoseconds. Senders put it in each message and
// receivers subtract it, so latency needs sender and receiver on one machine (they are).
#pragma once

#include <cstdint>
#include <ctime>

namespace chat_bench {

inline std::int64_t now_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

inline constexpr std::int64_t ns_per_ms = 1'000'000;
inline constexpr std::int64_t ns_per_s = 1'000'000'000;

inline double seconds_between(std::int64_t from_ns, std::int64_t to_ns) noexcept {
  return static_cast<double>(to_ns - from_ns) / 1e9;
}

}  // namespace chat_bench
