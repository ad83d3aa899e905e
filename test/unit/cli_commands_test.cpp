#include "commands.hpp"

#include "input_line.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace chat_cli;

TEST_CASE("ordinary text is a message, sent as typed", "[cli][commands]") {
  const auto p = parse_line("hello there");
  CHECK(p.kind == line_kind::message);
  CHECK(p.text == "hello there");
  CHECK(parse_line(" leading space").text == " leading space");
  CHECK(parse_line("a/b").kind == line_kind::message);
}

TEST_CASE("an empty or blank line sends nothing", "[cli][commands]") {
  CHECK(parse_line("").kind == line_kind::empty);
  CHECK(parse_line("   ").kind == line_kind::empty);
  CHECK(parse_line("\t ").kind == line_kind::empty);
}

TEST_CASE("/quit and /leave leave the room", "[cli][commands]") {
  CHECK(parse_line("/quit").kind == line_kind::quit);
  CHECK(parse_line("/leave").kind == line_kind::quit);
  CHECK(parse_line("/quit now").kind == line_kind::quit);
  CHECK(parse_line("/quitter").kind == line_kind::unknown);
  CHECK(parse_line("/QUIT").kind == line_kind::unknown);
}

TEST_CASE("/help lists every command", "[cli][commands]") {
  CHECK(parse_line("/help").kind == line_kind::help);
  std::string all;
  for (std::string_view line : help_lines()) all.append(line).append("\n");
  for (const char* name : {"/quit", "/leave", "/help", "//"}) {
    INFO(name);
    CHECK(all.find(name) != std::string::npos);
  }
}

TEST_CASE("an unknown command gets a one-line hint and is not sent", "[cli][commands]") {
  const auto p = parse_line("/xyz some args");
  CHECK(p.kind == line_kind::unknown);
  CHECK(p.text.find("/xyz") != std::string::npos);
  CHECK(p.text.find("/help") != std::string::npos);
  CHECK(p.text.find("//xyz") != std::string::npos);
  CHECK(p.text.find('\n') == std::string::npos);
  CHECK(parse_line("/").kind == line_kind::unknown);
}

TEST_CASE("a double slash sends the rest literally", "[cli][commands]") {
  const auto p = parse_line("//shrug");
  CHECK(p.kind == line_kind::message);
  CHECK(p.text == "/shrug");
  CHECK(parse_line("//quit").text == "/quit");
  CHECK(parse_line("//").text == "/");
  CHECK(parse_line("///x").text == "//x");
}

// The interactive view's line editor: what the editing keys do to the line being typed.
TEST_CASE("the input line edits UTF-8 text around a cursor", "[cli][commands][input]") {
  input_line line;
  for (char32_t c : std::u32string_view(U"h\u00e9llo \u65e5\u672c")) CHECK(line.insert(c));
  CHECK(line.utf8() == "h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac");
  CHECK(line.cursor() == 8);

  line.left(), line.left();
  line.erase_before();  // the space
  CHECK(line.insert(U'X'));
  CHECK(line.text() == U"h\u00e9lloX\u65e5\u672c");
  line.home();
  line.erase_before();  // nothing before the start
  line.erase_at();
  CHECK(line.text() == U"\u00e9lloX\u65e5\u672c");
  line.end();
  line.right();  // already at the end
  line.erase_at();
  CHECK(line.cursor() == 8 - 1);
  line.left(), line.left();
  line.kill_after();
  CHECK(line.text() == U"\u00e9lloX");
  line.left();
  line.kill_before();
  CHECK(line.text() == U"X");
  CHECK(line.cursor() == 0);
  line.clear();
  CHECK(line.empty());
  CHECK(line.cursor() == 0);
}

TEST_CASE("the input line refuses what a terminal would act on", "[cli][commands][input]") {
  input_line line;
  for (char32_t c : {char32_t{0x1B}, char32_t{0x00}, char32_t{0x09}, char32_t{0x7F}, char32_t{0x85}, char32_t{0x202E},
                     char32_t{0x2066}, char32_t{0xD800}, char32_t{0x110000}}) {
    INFO(static_cast<unsigned>(c));
    CHECK_FALSE(line.insert(c));
  }
  CHECK(line.empty());
  CHECK(line.insert(U'\u00A0'));
}

TEST_CASE("the input line has a bound", "[cli][commands][input]") {
  input_line line;
  for (std::size_t i = 0; i < input_line::max_code_points; ++i) REQUIRE(line.insert(U'a'));
  CHECK_FALSE(line.insert(U'b'));
  CHECK(line.text().size() == input_line::max_code_points);
}

TEST_CASE("a long input line scrolls sideways to keep the cursor visible", "[cli][commands][input]") {
  auto one = [](char32_t) { return 1; };
  auto two = [](char32_t) { return 2; };
  input_line line;
  for (char32_t c : std::u32string_view(U"0123456789")) line.insert(c);
  CHECK(line.first_visible(20, one) == 0);
  CHECK(line.first_visible(5, one) == 6);  // "6789" and the cursor cell
  line.left(), line.left();                // the cursor stays inside the visible part: no jump
  CHECK(line.first_visible(5, one) == 6);
  line.home();
  CHECK(line.first_visible(5, one) == 0);
  line.end();
  CHECK(line.first_visible(5, two) == 8);  // wide characters: "89" takes four columns
}
