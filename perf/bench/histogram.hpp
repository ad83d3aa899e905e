// Latency histogram: log-linear buckets (64 per power of two, so a bucket is at most 1.6 % wide),
// from 1 ns to about 18 minutes.
//
// Thread safety: a `histogram` has one writer (a load worker) and any number of readers that take
// snapshots at any time; counts are relaxed atomics, so a snapshot is a consistent-enough view for
// a progress line and exact once the writer has stopped recording the phase being read.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace chat_bench {

inline constexpr unsigned histogram_sub_bits = 6;
inline constexpr std::size_t histogram_buckets = (40 - histogram_sub_bits + 1) << histogram_sub_bits;

/// Plain counts, for arithmetic: merge workers, subtract a phase's start from its end.
struct histogram_counts {
  std::array<std::uint64_t, histogram_buckets> counts{};
  std::uint64_t max_ns = 0;  ///< not subtractable: the phase's max is tracked separately

  void add(const histogram_counts& other) noexcept;
  void subtract(const histogram_counts& earlier) noexcept;
  std::uint64_t total() const noexcept;
  /// The value below which `fraction` of the samples lie (upper edge of the bucket), in ns.
  std::uint64_t percentile(double fraction) const noexcept;
};

class histogram {
 public:
  /// Writer only.
  void record(std::uint64_t ns) noexcept {
    auto& c = counts_[bucket_of(ns)];
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (ns > max_.load(std::memory_order_relaxed)) max_.store(ns, std::memory_order_relaxed);
  }
  /// The writer's largest value since the last reset_max().
  void reset_max() noexcept { max_.store(0, std::memory_order_relaxed); }

  histogram_counts snapshot() const noexcept;

  static std::size_t bucket_of(std::uint64_t ns) noexcept;
  static std::uint64_t upper_edge(std::size_t bucket) noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, histogram_buckets> counts_{};
  std::atomic<std::uint64_t> max_{0};
};

}  // namespace chat_bench
