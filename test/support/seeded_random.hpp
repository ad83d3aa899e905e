// A random_source that replays: the same seed gives the same bytes, so a test can name the exact
// token or key a run produces. SplitMix64 (Steele, Lea and Flood): a good spread, no security.
#pragma once

#include "libchat/random.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>

namespace chat_test {

class seeded_random final : public libchat::random_source {
 public:
  explicit seeded_random(std::uint64_t seed) : state_(seed) {}

  void fill(libchat::mutable_byte_view out) override {
    for (std::size_t i = 0; i < out.size(); i += 8) {
      const std::uint64_t word = next();
      for (std::size_t b = 0; b < 8 && i + b < out.size(); ++b) out[i + b] = static_cast<std::uint8_t>(word >> (8 * b));
    }
  }

 private:
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t state_;
};

/// Hands out fixed bytes, then fails the test loudly if asked for more.
class fixed_random final : public libchat::random_source {
 public:
  explicit fixed_random(libchat::byte_view bytes) : bytes_(bytes) {}
  void fill(libchat::mutable_byte_view out) override {
    if (out.size() > bytes_.size()) throw std::logic_error("fixed_random: asked for more bytes than it holds");
    std::copy_n(bytes_.begin(), out.size(), out.begin());
    bytes_ = bytes_.subspan(out.size());
  }

 private:
  libchat::byte_view bytes_;
};

}  // namespace chat_test
