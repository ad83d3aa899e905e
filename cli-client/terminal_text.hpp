// Makes received text safe to show on a terminal. A chat message is written by someone else: if
// its bytes reached the terminal as they are, `ESC[2J` would clear the screen and U+202E would
// reorder what follows. Every such character is replaced with a visible stand-in instead, so the
// reader sees that it was there and the terminal never acts on it. Used by the TUI and plain modes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace chat_cli {

/// Returns `text` with every character a terminal would act on replaced by a visible form:
///   - C0 controls U+0000–U+001F, newline included, as the Control Pictures U+2400 + c (ESC is "␛")
///   - DEL as "␡" (U+2421)
///   - C1 controls U+0080–U+009F and the bidi overrides and isolates U+202A–U+202E, U+2066–U+2069
///     as "<U+XXXX>"
/// Malformed UTF-8 shows as U+FFFD. Everything else is kept.
std::string neutralise(std::string_view text);

/// Splits `text` at each newline and neutralises each part: the lines a message takes on screen.
/// Always at least one (possibly empty) line.
std::vector<std::string> neutralise_lines(std::string_view text);

/// Number of code points in UTF-8 `text`: the indentation that puts a continuation line under
/// the text after `prefix` (exact for the usual one-column characters).
std::size_t code_point_count(std::string_view text);

/// The screen lines of one entry: `prefix` then the first line of `text`, and every further line
/// of `text` indented by as many columns as `prefix` takes. `prefix` must already be safe (built
/// from neutralised parts); `text` is neutralised here.
std::vector<std::string> entry_lines(std::string_view prefix, std::string_view text);

/// `[HH:MM:SS] sender: text`, with `sender` neutralised too.
std::vector<std::string> message_lines(std::string_view clock, std::string_view sender, std::string_view text);

/// `[HH:MM:SS] * text`, for server notices and the client's own remarks.
std::vector<std::string> notice_lines(std::string_view clock, std::string_view text);

}  // namespace chat_cli
