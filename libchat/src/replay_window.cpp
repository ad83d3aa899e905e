#include "libchat/replay_window.hpp"

namespace libchat {

bool replay_window::check(std::uint64_t counter) const noexcept {
  if (!any_ || counter > highest_) return true;
  if (highest_ - counter >= size) return false;  // too old to tell
  const std::uint64_t block = (counter / 64) % blocks;
  return (bitmap_[block] & (std::uint64_t{1} << (counter % 64))) == 0;
}

void replay_window::accept(std::uint64_t counter) noexcept {
  if (!any_ || counter > highest_) {
    // Clear the blocks the window moves over (at most all of them), then move.
    const std::uint64_t from = any_ ? highest_ / 64 : counter / 64;
    const std::uint64_t to = counter / 64;
    if (!any_) {
      bitmap_.fill(0);
    } else {
      for (std::uint64_t b = from + 1; b <= to && b - from <= blocks; ++b) bitmap_[b % blocks] = 0;
    }
    highest_ = counter;
    any_ = true;
  }
  bitmap_[(counter / 64) % blocks] |= std::uint64_t{1} << (counter % 64);
}

}  // namespace libchat
