// Timestamps as the client shows them: local wall-clock time for people, UTC ISO 8601 for JSON.
#pragma once

#include <chrono>
#include <string>

namespace chat_cli {

/// "HH:MM:SS" in the local time zone.
std::string clock_text(std::chrono::system_clock::time_point t);

/// "2026-11-24T10:00:00.123Z": UTC with milliseconds.
std::string utc_timestamp(std::chrono::system_clock::time_point t);

}  // namespace chat_cli
