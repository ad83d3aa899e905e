#include "commands.hpp"

#include <array>

namespace chat_cli {
namespace {

constexpr std::array<std::string_view, 6> help{
    "/quit     leave the room and exit (also Ctrl-C, or Ctrl-D on an empty line)",
    "/leave    the same as /quit",
    "/who      list who is in the room",
    "/help     show this list",
    "//text    send \"/text\" as a message",
    "PageUp/PageDown scroll the messages; anything else you type is sent to the room",
};

}  // namespace

parsed_line parse_line(std::string_view line) {
  if (line.find_first_not_of(" \t") == std::string_view::npos) return {line_kind::empty, {}};
  if (line.starts_with("//")) return {line_kind::message, std::string(line.substr(1))};
  if (!line.starts_with('/')) return {line_kind::message, std::string(line)};

  const std::string_view name = line.substr(0, line.find(' '));
  if (name == "/quit" || name == "/leave") return {line_kind::quit, {}};
  if (name == "/help") return {line_kind::help, {}};
  if (name == "/who") return {line_kind::who, {}};
  std::string hint = "unknown command ";
  hint.append(name).append(": /help lists the commands; //").append(name.substr(1)).append(" sends it as text");
  return {line_kind::unknown, std::move(hint)};
}

std::span<const std::string_view> help_lines() {
  return help;
}

}  // namespace chat_cli
