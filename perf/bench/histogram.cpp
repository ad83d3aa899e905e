#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace chat_bench {

std::size_t histogram::bucket_of(std::uint64_t ns) noexcept {
  constexpr std::uint64_t sub = 1u << histogram_sub_bits;
  if (ns < sub) return static_cast<std::size_t>(ns);
  const unsigned exponent = static_cast<unsigned>(std::bit_width(ns)) - 1;  // >= sub_bits
  const std::uint64_t mantissa = (ns >> (exponent - histogram_sub_bits)) & (sub - 1);
  const std::size_t index = ((exponent - histogram_sub_bits + 1) << histogram_sub_bits) + mantissa;
  return std::min(index, histogram_buckets - 1);
}

std::uint64_t histogram::upper_edge(std::size_t bucket) noexcept {
  constexpr std::uint64_t sub = 1u << histogram_sub_bits;
  if (bucket < sub) return bucket;
  const std::size_t exponent = (bucket >> histogram_sub_bits) + histogram_sub_bits - 1;
  const std::uint64_t mantissa = bucket & (sub - 1);
  const std::uint64_t low = (sub + mantissa) << (exponent - histogram_sub_bits);
  return low + ((std::uint64_t{1} << (exponent - histogram_sub_bits)) - 1);
}

histogram_counts histogram::snapshot() const noexcept {
  histogram_counts out;
  for (std::size_t i = 0; i < histogram_buckets; ++i) out.counts[i] = counts_[i].load(std::memory_order_relaxed);
  out.max_ns = max_.load(std::memory_order_relaxed);
  return out;
}

void histogram_counts::add(const histogram_counts& other) noexcept {
  for (std::size_t i = 0; i < histogram_buckets; ++i) counts[i] += other.counts[i];
  max_ns = std::max(max_ns, other.max_ns);
}

void histogram_counts::subtract(const histogram_counts& earlier) noexcept {
  for (std::size_t i = 0; i < histogram_buckets; ++i) counts[i] -= std::min(counts[i], earlier.counts[i]);
}

std::uint64_t histogram_counts::total() const noexcept {
  std::uint64_t n = 0;
  for (const auto c : counts) n += c;
  return n;
}

std::uint64_t histogram_counts::percentile(double fraction) const noexcept {
  const std::uint64_t n = total();
  if (n == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(std::ceil(fraction * static_cast<double>(n)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < histogram_buckets; ++i) {
    seen += counts[i];
    if (seen >= std::max<std::uint64_t>(rank, 1)) {
      const std::uint64_t edge = histogram::upper_edge(i);
      return max_ns != 0 ? std::min(edge, max_ns) : edge;
    }
  }
  return max_ns;
}

}  // namespace chat_bench
