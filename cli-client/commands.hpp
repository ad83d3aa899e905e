// What a line typed in the interactive or plain mode means: a chat message or a client command.
// Pure, so that the rules are unit-tested (test/unit/cli_commands_test.cpp).
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace chat_cli {

enum class line_kind {
  empty,    ///< nothing to send (empty or only spaces)
  message,  ///< `text` is the chat message
  quit,     ///< /quit or /leave
  help,     ///< /help
  who,      ///< /who
  unknown,  ///< a /command this client does not know; `text` is the hint to show
};

struct parsed_line {
  line_kind kind = line_kind::empty;
  std::string text;
};

/// Reads one input line (without its newline). A line starting with "/" is a command, named by
/// what precedes the first space; "//" escapes it, so "//shrug" sends "/shrug".
parsed_line parse_line(std::string_view line);

/// The lines /help prints.
std::span<const std::string_view> help_lines();

}  // namespace chat_cli
