// Asks on the terminal for what the flags left out: name, create or join, room, password.
#pragma once

#include "options.hpp"

#include <optional>

namespace chat_cli {

/// Fills in the missing name, operation and room by asking on the terminal, then the password
/// (typed without echo) when anything was asked and no password flag was given. When standard
/// input is not a terminal and something is missing, prints a one-line usage error. Returns the
/// exit code when the program must stop.
std::optional<int> complete_interactively(client_options& options);

}  // namespace chat_cli
