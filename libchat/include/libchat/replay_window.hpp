// Anti-replay for sealed datagrams (RFC 6479): a bitmap of the last counters seen, in 64-bit
// blocks addressed by counter, so that moving the window clears whole blocks instead of shifting.
// The caller checks first, opens (verifies the AEAD tag), and only then accepts: a forged
// datagram with a high counter must never move the window.
#pragma once

#include "libchat/export.hpp"

#include <array>
#include <cstdint>

namespace libchat {

class LIBCHAT_EXPORT replay_window {
 public:
  /// Counters this far behind the highest one accepted are still accepted once (RFC 6479: the
  /// bitmap minus one block).
  static constexpr std::uint64_t size = 32 * 64 - 64;

  /// True if `counter` was not seen and is not too old.
  bool check(std::uint64_t counter) const noexcept;
  /// Records `counter` as seen. Precondition: check(counter) was true and the datagram verified.
  void accept(std::uint64_t counter) noexcept;
  /// True if accepting `counter` would make it the highest counter seen.
  bool ahead(std::uint64_t counter) const noexcept { return !any_ || counter > highest_; }

 private:
  static constexpr std::size_t blocks = 32;
  std::array<std::uint64_t, blocks> bitmap_{};
  std::uint64_t highest_ = 0;
  bool any_ = false;
};

}  // namespace libchat
