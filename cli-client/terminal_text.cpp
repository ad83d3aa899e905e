#include "terminal_text.hpp"

#include "utf8_codec.hpp"

#include <cstdio>

namespace chat_cli {
namespace {

bool is_bidi_control(char32_t cp) noexcept {
  return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

void append_visible(std::string& out, char32_t cp) {
  if (cp < 0x20) {
    append_utf8(out, 0x2400 + cp);  // Control Pictures mirror C0 one to one
  } else if (cp == 0x7F) {
    append_utf8(out, 0x2421);
  } else if ((cp >= 0x80 && cp <= 0x9F) || is_bidi_control(cp)) {
    char code[16];
    std::snprintf(code, sizeof code, "<U+%04X>", static_cast<unsigned>(cp));
    out += code;
  } else {
    append_utf8(out, cp);
  }
}

}  // namespace

std::string neutralise(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : decode_utf8(text)) append_visible(out, cp);
  return out;
}

std::vector<std::string> neutralise_lines(std::string_view text) {
  std::vector<std::string> lines;
  for (;;) {
    const std::size_t end = text.find('\n');
    lines.push_back(neutralise(text.substr(0, end)));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

std::size_t code_point_count(std::string_view text) {
  return decode_utf8(text).size();
}

std::vector<std::string> entry_lines(std::string_view prefix, std::string_view text) {
  std::vector<std::string> lines = neutralise_lines(text);
  const std::string indent(code_point_count(prefix), ' ');
  lines.front().insert(0, prefix);
  for (std::size_t i = 1; i < lines.size(); ++i) lines[i].insert(0, indent);
  return lines;
}

std::vector<std::string> message_lines(std::string_view clock, std::string_view sender, std::string_view text) {
  std::string prefix;
  prefix.append("[").append(clock).append("] ").append(neutralise(sender)).append(": ");
  return entry_lines(prefix, text);
}

std::vector<std::string> notice_lines(std::string_view clock, std::string_view text) {
  std::string prefix;
  prefix.append("[").append(clock).append("] * ");
  return entry_lines(prefix, text);
}

}  // namespace chat_cli
