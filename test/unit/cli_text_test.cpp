#include "terminal_text.hpp"

#include "notice_text.hpp"
#include "time_text.hpp"
#include "utf8_codec.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace chat_cli;
using namespace std::string_literals;

TEST_CASE("plain text passes through unchanged", "[cli][text]") {
  CHECK(neutralise("hello, world") == "hello, world");
  CHECK(neutralise("h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80") ==
        "h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
  CHECK(neutralise("") == "");
}

TEST_CASE("an escape sequence is shown, not executed", "[cli][text]") {
  // ESC is U+241B SYMBOL FOR ESCAPE.
  CHECK(neutralise("\x1b[2J") == "\xe2\x90\x9b[2J");
  CHECK(neutralise("a\x1b]0;title\x07z") == "a\xe2\x90\x9b]0;title\xe2\x90\x87z");
}

TEST_CASE("every C0 control maps to its control picture", "[cli][text]") {
  for (unsigned c = 0; c < 0x20; ++c) {
    if (c == '\n') continue;
    const std::string in(1, static_cast<char>(c));
    std::string expected;
    append_utf8(expected, 0x2400 + c);
    CHECK(neutralise(in) == expected);
  }
  CHECK(neutralise("\0"s) == "\xe2\x90\x80");  // NUL is U+2400
  CHECK(neutralise("\t") == "\xe2\x90\x89");
  CHECK(neutralise("\r") == "\xe2\x90\x8d");
}

TEST_CASE("DEL, C1 controls and bidi overrides are shown as code points", "[cli][text]") {
  CHECK(neutralise("\x7f") == "\xe2\x90\xa1");  // U+2421
  CHECK(neutralise("\xc2\x80") == "<U+0080>");
  CHECK(neutralise("\xc2\x85") == "<U+0085>");
  CHECK(neutralise("\xc2\x9b") == "<U+009B>");  // CSI, the 8-bit escape sequence introducer
  CHECK(neutralise("\xc2\x9f") == "<U+009F>");
  CHECK(neutralise("\xc2\xa0") == "\xc2\xa0");  // U+00A0 is printable
  CHECK(neutralise("a\xe2\x80\xaez") == "a<U+202E>z");
  CHECK(neutralise("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad") == "<U+202A><U+202B><U+202C><U+202D>");
  CHECK(neutralise("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9") == "<U+2066><U+2067><U+2068><U+2069>");
  CHECK(neutralise("\xe2\x80\xa9") == "\xe2\x80\xa9");  // U+2029 is outside both ranges
}

TEST_CASE("malformed UTF-8 shows as replacement characters", "[cli][text]") {
  const std::string fffd = "\xef\xbf\xbd";
  CHECK(neutralise("a\xff"
                   "b") == "a" + fffd + "b");
  CHECK(neutralise("\xc0\xaf") == fffd + fffd);                        // overlong '/'
  CHECK(neutralise("\xed\xa0\x80") == fffd + fffd + fffd);             // a surrogate
  CHECK(neutralise("\xe6\x97") == fffd + fffd);                        // truncated at the end
  CHECK(neutralise("\xf4\x90\x80\x80") == fffd + fffd + fffd + fffd);  // above U+10FFFF
}

TEST_CASE("a newline starts a continuation line indented under the text", "[cli][text]") {
  CHECK(neutralise_lines("one") == std::vector<std::string>{"one"});
  CHECK(neutralise_lines("") == std::vector<std::string>{""});
  CHECK(neutralise_lines("a\nb\n") == std::vector<std::string>{"a", "b", ""});
  CHECK(neutralise("a\nb") ==
        "a\xe2\x90\x8a"
        "b");  // without splitting, LF is a picture too

  const auto lines = message_lines("10:00:00", "alice", "first\nsecond\x1b[1m");
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "[10:00:00] alice: first");
  CHECK(lines[1] == std::string(18, ' ') + "second\xe2\x90\x9b[1m");
}

TEST_CASE("the indentation counts code points, not bytes", "[cli][text]") {
  const auto lines = message_lines("10:00:00", "z\xc3\xb6\xc3\xab", "a\nb");  // "zöë": 3 code points, 5 bytes
  REQUIRE(lines.size() == 2);
  CHECK(lines[1] == std::string(16, ' ') + "b");
}

TEST_CASE("the sender's name is neutralised too", "[cli][text]") {
  const auto lines = message_lines("10:00:00",
                                   "ev\x1b"
                                   "il",
                                   "hi");
  CHECK(lines == std::vector<std::string>{"[10:00:00] ev\xe2\x90\x9bil: hi"});
}

TEST_CASE("notices read as sentences", "[cli][text]") {
  CHECK(notice_lines("10:00:00", "bob joined") == std::vector<std::string>{"[10:00:00] * bob joined"});

  libchat::notice n;
  n.event = libchat::notice_event::joined, n.user = "bob";
  CHECK(describe_notice(n) == "bob joined");
  n.event = libchat::notice_event::left, n.reason = "leave";
  CHECK(describe_notice(n) == "bob left");
  n.reason = "timeout";
  CHECK(describe_notice(n) == "bob timed out");
  n.reason = "unreachable";
  CHECK(describe_notice(n) == "bob became unreachable and was removed");
  n = {};
  n.event = libchat::notice_event::room_closed, n.reason = "host_left";
  CHECK(describe_notice(n) == "the room was closed: the host left");
  n.reason = "host_timeout";
  CHECK(describe_notice(n) == "the room was closed: the host timed out");
  n.reason = "host_never_joined";
  CHECK(describe_notice(n) == "the room was closed: the host never joined");
  n = {};
  n.event = libchat::notice_event::pong;
  CHECK(describe_notice(n).empty());
  n.event = libchat::notice_event::error, n.error = "too_long";
  CHECK(describe_notice(n) == "your last message was too long; the server did not deliver it");
  n = {};
  n.event = libchat::notice_event::unknown, n.event_name = "future_thing";
  CHECK(describe_notice(n) == "server notice: future_thing");
}

TEST_CASE("only timeout, room_closed and server_shutdown end the session", "[cli][text]") {
  using libchat::notice_event;
  CHECK(ends_session(notice_event::timeout));
  CHECK(ends_session(notice_event::room_closed));
  CHECK(ends_session(notice_event::server_shutdown));
  CHECK_FALSE(ends_session(notice_event::joined));
  CHECK_FALSE(ends_session(notice_event::left));
  CHECK_FALSE(ends_session(notice_event::pong));
  CHECK_FALSE(ends_session(notice_event::error));
  CHECK_FALSE(ends_session(notice_event::unknown));
}

TEST_CASE("JSON timestamps are UTC with milliseconds", "[cli][text]") {
  using namespace std::chrono;
  const sys_time<milliseconds> t =
      sys_days{year{2026} / 11 / 24} + hours{10} + minutes{0} + seconds{0} + milliseconds{123};
  CHECK(utc_timestamp(t) == "2026-11-24T10:00:00.123Z");
  CHECK(utc_timestamp(sys_days{year{1970} / 1 / 1}) == "1970-01-01T00:00:00.000Z");
}

TEST_CASE("UTF-8 round-trips through code points", "[cli][text]") {
  const std::string text = "a\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80";
  const std::u32string points = decode_utf8(text);
  CHECK(points == U"a\u00e9\u65e5\U0001F600");
  CHECK(encode_utf8(points) == text);
}
