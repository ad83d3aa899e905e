// Time as libchat sees it: a value the caller passes in. Nothing in libchat reads a clock, so tests
// drive rooms, limits and sessions with any time they like.
#pragma once

#include <chrono>

namespace libchat {

using time_point = std::chrono::steady_clock::time_point;

}  // namespace libchat
