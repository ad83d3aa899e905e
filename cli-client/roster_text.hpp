// How the member list reads for a person: the line shown on joining, and what /who prints.
// Pure, so that it is unit-tested; names in the result are raw (the caller neutralises lines).
#pragma once

#include <libchat/members.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace chat_cli {

/// One line for joining: "in the room (3): alice (host), bob, carol (you)"; past a screenful of
/// names it ends with "… and N more (/who lists them all)".
std::string members_summary(const libchat::member_roster& roster, std::string_view self);

/// What /who prints: every name, a few to a line, and a last line when the list may be
/// incomplete (a part of the server's notice was lost, or none arrived yet).
std::vector<std::string> who_lines(const libchat::member_roster& roster, std::string_view self);

}  // namespace chat_cli
