#include "roster_text.hpp"

namespace chat_cli {
namespace {

constexpr std::size_t summary_names = 20;  // on joining; /who shows them all
constexpr std::size_t names_per_line = 10;

std::string label(const libchat::member_roster& roster, const std::string& name, std::string_view self) {
  std::string out = name;
  if (name == roster.host()) out += " (host)";
  if (name == self) out += " (you)";
  return out;
}

std::string heading(const libchat::member_roster& roster) {
  return "in the room (" + std::to_string(roster.names().size()) + "): ";
}

}  // namespace

std::string members_summary(const libchat::member_roster& roster, std::string_view self) {
  std::string line = heading(roster);
  std::size_t shown = 0;
  for (const auto& name : roster.names()) {
    if (shown == summary_names) {
      line += ", and " + std::to_string(roster.names().size() - shown) + " more (/who lists them all)";
      break;
    }
    if (shown++ > 0) line += ", ";
    line += label(roster, name, self);
  }
  return line;
}

std::vector<std::string> who_lines(const libchat::member_roster& roster, std::string_view self) {
  constexpr std::string_view asked = "; asked for it again (try /who in a moment)";
  if (!roster.received() && roster.names().empty())
    return {"the server's member list has not arrived" + std::string(asked)};
  std::vector<std::string> lines;
  std::string line = heading(roster);
  std::size_t on_line = 0;
  for (const auto& name : roster.names()) {
    if (on_line == names_per_line) {
      lines.push_back(line + ",");
      line = "  ";
      on_line = 0;
    }
    if (on_line++ > 0) line += ", ";
    line += label(roster, name, self);
  }
  lines.push_back(line);
  if (!roster.received()) {
    lines.push_back("the list may be incomplete (the server's list has not arrived)" + std::string(asked));
  } else if (!roster.complete()) {
    lines.push_back("the list may be incomplete (" + std::to_string(roster.parts_seen()) + " of " +
                    std::to_string(roster.parts_expected()) + " parts of the server's list arrived)" +
                    std::string(asked));
  }
  return lines;
}

}  // namespace chat_cli
