// Token buckets: a rate and a burst, with time passed in (rooms and the server's per-address
// limits use them; tests drive them with a fake clock).
#pragma once

#include "libchat/export.hpp"
#include "libchat/time.hpp"

#include <algorithm>
#include <chrono>

namespace libchat {

/// A rate limit: `per_second` on average, `burst` at once.
struct rate_limit {
  double per_second = 0;
  double burst = 0;

  bool unlimited() const noexcept { return per_second <= 0; }
};

class LIBCHAT_EXPORT token_bucket {
 public:
  token_bucket() = default;
  /// Starts full.
  token_bucket(const rate_limit& limit, time_point now) noexcept
      : limit_(limit), tokens_(limit.burst), last_(now) {}

  /// Takes `cost` tokens if the bucket holds them. An unlimited bucket always gives.
  bool take(time_point now, double cost = 1.0) noexcept {
    if (limit_.unlimited()) return true;
    refill(now);
    if (tokens_ < cost) return false;
    tokens_ -= cost;
    return true;
  }
  /// True if `cost` tokens are there, without taking them.
  bool can_take(time_point now, double cost = 1.0) noexcept {
    if (limit_.unlimited()) return true;
    refill(now);
    return tokens_ >= cost;
  }
  /// Tokens in the bucket now.
  double left(time_point now) noexcept {
    refill(now);
    return tokens_;
  }
  /// True once the bucket is full again: its state carries no information and can be forgotten.
  bool full(time_point now) noexcept {
    refill(now);
    return tokens_ >= limit_.burst;
  }

 private:
  void refill(time_point now) noexcept {
    if (now <= last_) return;
    const double seconds = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(limit_.burst, tokens_ + seconds * limit_.per_second);
    last_ = now;
  }

  rate_limit limit_;
  double tokens_ = 0;
  time_point last_{};
};

}  // namespace libchat
