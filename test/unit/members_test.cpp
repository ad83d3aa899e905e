#include "libchat/members.hpp"

#include <catch2/catch.hpp>

#include "libchat/control.hpp"
#include "support/frames.hpp"
#include "support/hex.hpp"

#include <array>
#include <set>
#include <string>
#include <vector>

using namespace libchat;
using chat_test::control_message;
using chat_test::from_hex;

namespace {

std::vector<std::string> encode_all(const std::vector<std::string>& names, std::string_view host) {
  const std::vector<std::string_view> views(names.begin(), names.end());
  const members_notice notice(views, host);
  std::vector<std::string> parts;
  std::array<char, max_notice_json> buffer{};
  for (std::size_t i = 0; i < notice.parts(); ++i) parts.emplace_back(buffer.data(), notice.encode(i, buffer));
  return parts;
}

std::size_t quoted_size(const std::string& name) {
  std::size_t n = name.size() + 2;
  for (char c : name) n += (c == '"' || c == '\\') ? 1 : 0;
  return n;
}

notice parsed(const std::string& json) {
  auto n = parse_notice(json);
  REQUIRE(n.has_value());
  return *n;
}

notice members_part(std::uint32_t part, std::uint32_t parts, std::vector<std::string> users, std::string host = {}) {
  notice n{.event = notice_event::members, .host = std::move(host), .users = std::move(users)};
  n.part = part;
  n.parts = parts;
  return n;
}

}  // namespace

TEST_CASE("members: one part, byte for byte, host first and every user once", "[members]") {
  const auto parts = encode_all({"alice", "bob", "carol"}, "alice");
  REQUIRE(parts.size() == 1);
  CHECK(parts[0] == R"({"event":"members","part":1,"parts":1,"host":"alice","users":["alice","bob","carol"]})");
  CHECK(chat_test::to_bytes(parts[0]) ==
        from_hex("7b 22 65 76 65 6e 74 22 3a 22 6d 65 6d 62 65 72 73 22 2c 22 70 61 72 74 22 3a 31 2c 22 70 61 72"
                 " 74 73 22 3a 31 2c 22 68 6f 73 74 22 3a 22 61 6c 69 63 65 22 2c 22 75 73 65 72 73 22 3a 5b 22 61"
                 " 6c 69 63 65 22 2c 22 62 6f 62 22 2c 22 63 61 72 6f 6c 22 5d 7d"));
  const notice n = parsed(parts[0]);
  CHECK(n.event == notice_event::members);
  CHECK(n.users == std::vector<std::string>{"alice", "bob", "carol"});
  CHECK(n.host == "alice");
  CHECK(n.part == 1);
  CHECK(n.parts == 1);
}

TEST_CASE("members: no host key while the host has not joined", "[members]") {
  const auto parts = encode_all({"bob"}, "");
  REQUIRE(parts.size() == 1);
  CHECK(parts[0] == R"({"event":"members","part":1,"parts":1,"users":["bob"]})");
  CHECK(parsed(parts[0]).host.empty());
}

TEST_CASE("members: quotes and backslashes in names are escaped, UTF-8 is written as it is", "[members]") {
  const auto parts = encode_all({"a\"b", "c\\d", "\xc3\xa9t\xc3\xa9"}, "a\"b");
  REQUIRE(parts.size() == 1);
  CHECK(parts[0] ==
        "{\"event\":\"members\",\"part\":1,\"parts\":1,\"host\":\"a\\\"b\",\"users\":[\"a\\\"b\","
        "\"c\\\\d\",\"\xc3\xa9t\xc3\xa9\"]}");
  CHECK(parsed(parts[0]).users == std::vector<std::string>{"a\"b", "c\\d", "\xc3\xa9t\xc3\xa9"});
}

TEST_CASE("members: a long list splits into parts that each fit, and together hold every name once", "[members]") {
  // 1000 names of 255 bytes, half of them quotes (escaped to two bytes each): the worst case.
  std::vector<std::string> names;
  for (int i = 0; i < 1000; ++i) {
    std::string name = std::to_string(i) + "-";
    while (name.size() < 255) name += (name.size() % 2 != 0) ? '"' : 'x';
    names.push_back(name);
  }
  const auto parts = encode_all(names, names[7]);
  CHECK(parts.size() > 100);
  std::multiset<std::string> seen;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    INFO("part " << i + 1);
    CHECK(parts[i].size() <= max_notice_json);
    const notice n = parsed(parts[i]);
    CHECK(n.part == i + 1);
    CHECK(n.parts == parts.size());
    CHECK(n.host == names[7]);
    CHECK_FALSE(n.users.empty());
    seen.insert(n.users.begin(), n.users.end());
    // Greedy: the next part's first name would not have fitted after a comma (the part number
    // may use fewer digits than were set aside for it).
    if (i + 1 < parts.size())
      CHECK(parts[i].size() + 1 + quoted_size(parsed(parts[i + 1]).users.front()) > max_notice_json - 2);
  }
  CHECK(seen == std::multiset<std::string>(names.begin(), names.end()));
}

TEST_CASE("members: the part numbers' width is reserved, even when the count gains a digit", "[members]") {
  // Short names so that the count crosses 9 → 10 parts around here.
  for (std::size_t count : {3000u, 3300u, 3400u, 3600u, 4000u}) {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < count; ++i) names.push_back("user" + std::to_string(i));
    const auto parts = encode_all(names, "user0");
    INFO(count << " names, " << parts.size() << " parts");
    std::size_t total = 0;
    for (const auto& p : parts) {
      CHECK(p.size() <= max_notice_json);
      const notice n = parsed(p);
      CHECK(n.parts == parts.size());
      total += n.users.size();
    }
    CHECK(total == count);
  }
}

TEST_CASE("members: a name past 255 bytes is a broken precondition, not a buffer overrun", "[members]") {
  const std::string too_long(256, 'x');
  const std::vector<std::string_view> users{too_long};
  CHECK_THROWS_AS(members_notice(users, ""), std::length_error);
}

TEST_CASE("members: parse_notice refuses a members notice that is not exactly right", "[members]") {
  struct bad_case {
    const char* name;
    std::string json;
  };
  const bad_case cases[] = {
      {"no users", R"({"event":"members","part":1,"parts":1})"},
      {"users not an array", R"({"event":"members","part":1,"parts":1,"users":"alice"})"},
      {"a user that is a number", R"({"event":"members","part":1,"parts":1,"users":["alice",3]})"},
      {"a user that is an array", R"({"event":"members","part":1,"parts":1,"users":[["alice"]]})"},
      {"an empty name", R"({"event":"members","part":1,"parts":1,"users":[""]})"},
      {"a control character", R"({"event":"members","part":1,"parts":1,"users":["\u001b[2J"]})"},
      {"a name past 255 bytes",
       R"({"event":"members","part":1,"parts":1,"users":[")" + std::string(256, 'x') + R"("]})"},
      {"no part", R"({"event":"members","parts":1,"users":["a"]})"},
      {"no parts", R"({"event":"members","part":1,"users":["a"]})"},
      {"part 0", R"({"event":"members","part":0,"parts":1,"users":["a"]})"},
      {"part past parts", R"({"event":"members","part":3,"parts":2,"users":["a"]})"},
      {"a huge count", R"({"event":"members","part":1,"parts":4294967297,"users":["a"]})"},
      {"a negative count", R"({"event":"members","part":1,"parts":-1,"users":["a"]})"},
      {"a fractional part", R"({"event":"members","part":1.5,"parts":2,"users":["a"]})"},
      {"a host that is not a name", R"({"event":"members","part":1,"parts":1,"host":"\u0007","users":["a"]})"},
      {"a host that is a number", R"({"event":"members","part":1,"parts":1,"host":1,"users":["a"]})"},
      {"duplicate users", R"({"event":"members","part":1,"parts":1,"users":["a"],"users":["b"]})"},
      {"invalid UTF-8", "{\"event\":\"members\",\"part\":1,\"parts\":1,\"users\":[\"\xff\"]}"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(parse_notice(c.json).has_error());
  }
}

TEST_CASE("members: parse_notice takes keys in any order and ignores unknown ones", "[members]") {
  const notice n = parsed(R"({"users":["b","a"],"x":[1,{"y":[]}],"parts":2,"event":"members","part":2})");
  CHECK(n.users == std::vector<std::string>{"b", "a"});
  CHECK(n.part == 2);
  CHECK(n.parts == 2);
  CHECK(parsed(R"({"event":"members","part":1,"parts":1,"users":[]})").users.empty());
  // Arrays elsewhere do not disturb the flat notices.
  CHECK(parsed(R"({"event":"joined","user":"bob","extra":["x"]})").user == "bob");
}

TEST_CASE("members: the request is a control message, byte for byte", "[members][control]") {
  const std::string request = encode_control(control_type::members);
  CHECK(chat_test::to_bytes(request) ==
        from_hex("00 7b 22 74 79 70 65 22 3a 22 6d 65 6d 62 65 72 73 22 7d"));  // \0{"type":"members"}
  const auto r = parse_control(as_bytes(request));
  REQUIRE(r.has_value());
  CHECK(*r == control_type::members);
  CHECK(parse_control(as_bytes(control_message(R"({"type":"MEMBERS"})"))).has_error());
}

TEST_CASE("roster: parts merge as they come, and it knows when it has them all", "[members][roster]") {
  member_roster roster;
  CHECK_FALSE(roster.received());
  CHECK(roster.apply(members_part(2, 2, {"carol"}, "alice")));
  CHECK(roster.received());
  CHECK_FALSE(roster.complete());
  CHECK(roster.parts_seen() == 1);
  CHECK(roster.parts_expected() == 2);
  CHECK(roster.apply(members_part(1, 2, {"alice", "bob"}, "alice")));
  CHECK(roster.complete());
  CHECK(roster.host() == "alice");
  CHECK(roster.names() == std::set<std::string, std::less<>>{"alice", "bob", "carol"});

  // joined and left keep it current; other notices change nothing.
  CHECK(roster.apply({.event = notice_event::joined, .user = "dave"}));
  CHECK(roster.apply({.event = notice_event::left, .user = "bob", .reason = "leave"}));
  CHECK_FALSE(roster.apply({.event = notice_event::left, .user = "nobody"}));
  CHECK_FALSE(roster.apply({.event = notice_event::pong}));
  CHECK(roster.names() == std::set<std::string, std::less<>>{"alice", "carol", "dave"});
}

TEST_CASE("roster: a part seen twice, or another count, starts counting a newer list", "[members][roster]") {
  member_roster roster;
  roster.apply(members_part(1, 2, {"alice"}));
  roster.apply(members_part(1, 2, {"alice"}));  // the answer to a request: a newer list
  CHECK(roster.parts_seen() == 1);
  CHECK_FALSE(roster.complete());
  roster.apply(members_part(1, 1, {"alice", "bob"}));
  CHECK(roster.complete());
  CHECK(roster.names().size() == 2);
}

TEST_CASE("roster: a hostile server cannot make it grow without bound", "[members][roster]") {
  member_roster roster;
  std::vector<std::string> users;
  for (std::size_t i = 0; i < 1000; ++i) users.push_back("u" + std::to_string(i));
  for (std::uint32_t part = 1; part <= 150; ++part) {
    for (auto& u : users) u[0] = static_cast<char>('a' + part % 26);
    for (std::size_t i = 0; i < users.size(); ++i) users[i] = users[i].substr(0, 1) + std::to_string(part * 1000 + i);
    roster.apply(members_part(part, static_cast<std::uint32_t>(max_members_parts), users));
  }
  CHECK(roster.names().size() == member_roster::max_roster_names);
  CHECK_FALSE(roster.apply({.event = notice_event::joined, .user = "one-more"}));
  CHECK(roster.names().size() == member_roster::max_roster_names);
}

TEST_CASE("members: encode_notice writes a part exactly as the room does", "[members]") {
  const auto parts = encode_all({"a\"b", "c\\d", "bob"}, "bob");
  REQUIRE(parts.size() == 1);
  CHECK(encode_notice(parsed(parts[0])) == parts[0]);
  CHECK(encode_notice(members_part(3, 12, {"x"})) == R"({"event":"members","part":3,"parts":12,"users":["x"]})");
}
