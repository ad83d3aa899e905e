// Time as libchat sees it: a value the caller passes in. Nothing in libchat reads a clock, so tests
// drive rooms, limits and sessions with any time they like.
#pragma once

#include <chrono>

namespace libchat {

using time_point = std::chrono::steady_clock::time_point;

/// Wall-clock time in whole seconds since the Unix epoch (UTC, no leap seconds), as sealed
/// requests carry it (docs/protocol.md §12.3). Only for comparing with another machine's clock;
/// timers and limits use time_point, which does not jump.
using wall_time = std::chrono::sys_seconds;

}  // namespace libchat
