#include "roster_text.hpp"

#include "commands.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace chat_cli;

namespace {

libchat::notice members_part(std::uint32_t part, std::uint32_t parts, std::vector<std::string> users) {
  libchat::notice n{.event = libchat::notice_event::members, .host = "alice", .users = std::move(users)};
  n.part = part;
  n.parts = parts;
  return n;
}

}  // namespace

TEST_CASE("/who is a command", "[cli][commands]") {
  CHECK(parse_line("/who").kind == line_kind::who);
  CHECK(parse_line("/who is there").kind == line_kind::who);
  CHECK(parse_line("//who").kind == line_kind::message);
  bool listed = false;
  for (auto line : help_lines()) listed = listed || line.starts_with("/who");
  CHECK(listed);
}

TEST_CASE("the member list reads as names, the host and oneself marked", "[cli][roster]") {
  libchat::member_roster roster;
  roster.apply(members_part(1, 1, {"carol", "alice", "bob"}));
  CHECK(members_summary(roster, "bob") == "in the room (3): alice (host), bob (you), carol");
  CHECK(who_lines(roster, "bob") == std::vector<std::string>{"in the room (3): alice (host), bob (you), carol"});
}

TEST_CASE("a long list is cut on joining and wrapped by /who", "[cli][roster]") {
  libchat::member_roster roster;
  std::vector<std::string> users;
  for (int i = 10; i < 35; ++i) users.push_back("u" + std::to_string(i));
  roster.apply(members_part(1, 1, users));
  const std::string summary = members_summary(roster, "u10");
  CHECK(summary.starts_with("in the room (25): u10 (you), u11, "));
  CHECK(summary.ends_with(", u29, and 5 more (/who lists them all)"));
  const auto lines = who_lines(roster, "u10");
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].ends_with("u19,"));
  CHECK(lines[2] == "  u30, u31, u32, u33, u34");
}

TEST_CASE("/who says when the list may be incomplete", "[cli][roster]") {
  libchat::member_roster roster;
  CHECK(
      who_lines(roster, "me") ==
      std::vector<std::string>{"the server's member list has not arrived; asked for it again (try /who in a moment)"});
  roster.apply({.event = libchat::notice_event::joined, .user = "bob"});
  auto lines = who_lines(roster, "me");
  REQUIRE(lines.size() == 2);
  CHECK(lines[1].starts_with("the list may be incomplete (the server's list has not arrived)"));
  roster.apply(members_part(2, 3, {"x"}));
  lines = who_lines(roster, "me");
  REQUIRE(lines.size() == 2);
  CHECK(lines[1].starts_with("the list may be incomplete (1 of 3 parts of the server's list arrived)"));
}
