// A clock that moves only when a test says so. Rooms take time as an argument, so no test sleeps.
#pragma once

#include "libchat/time.hpp"

#include <chrono>

namespace chat_test {

struct fake_clock {
  /// An arbitrary start, far from the epoch, so that "now - timeout" never underflows.
  libchat::time_point now = libchat::time_point{} + std::chrono::hours(24);

  void advance(std::chrono::milliseconds d) { now += d; }
};

}  // namespace chat_test
