// chat-bench's output: a table for people, one JSON object for machines.
#pragma once

#include "runner.hpp"

#include <string>

namespace chat_bench {

std::string format_table(const run_report& report);
std::string format_json(const run_report& report);

}  // namespace chat_bench
