#include "libchat/room.hpp"

#include <catch2/catch.hpp>

#include "libchat/control.hpp"
#include "libchat/datagram.hpp"
#include "support/catch_strings.hpp"
#include "support/fake_clock.hpp"
#include "support/frames.hpp"
#include "support/hex.hpp"
#include "support/recording_output.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

using namespace libchat;
using namespace std::chrono_literals;
using chat_test::byte_vector;
using chat_test::dropped;
using chat_test::from_hex;
using chat_test::notice_datagram;
using chat_test::outcome_text;
using chat_test::server_datagram_bytes;
using chat_test::v4;

namespace {

struct client {
  std::string name;
  std::string token;
  peer_address addr;
  bool host = false;
};

const peer_address alice_addr = v4(10, 0, 0, 1, 5001);
const peer_address bob_addr = v4(10, 0, 0, 2, 5002);
const peer_address carol_addr = v4(10, 0, 0, 3, 5003);
const peer_address dave_addr = v4(10, 0, 0, 4, 5004);

const std::string leave = encode_control(control_type::leave);

byte_vector joined_notice(std::string_view user) {
  return notice_datagram(R"({"event":"joined","user":")" + std::string(user) + R"("})");
}
byte_vector left_notice(std::string_view user, std::string_view reason) {
  return notice_datagram(R"({"event":"left","user":")" + std::string(user) + R"(","reason":")" +
                         std::string(reason) + R"("})");
}
byte_vector room_closed_notice(std::string_view reason) {
  return notice_datagram(R"({"event":"room_closed","reason":")" + std::string(reason) + R"("})");
}
const byte_vector pong = notice_datagram(R"({"event":"pong"})");
const byte_vector timeout_notice = notice_datagram(R"({"event":"timeout"})");
const byte_vector shutdown_notice = notice_datagram(R"({"event":"server_shutdown"})");
const byte_vector too_long_notice = notice_datagram(R"({"event":"error","error":"too_long"})");
// A member that joins gets the members notice (test/unit/members_room_test.cpp checks its bytes).
bool is_members_notice(const byte_vector& d) {
  using namespace std::string_view_literals;
  const std::string_view lead = "\0{\"event\":\"members\""sv;  // sv: the NUL is part of it
  return d.size() > lead.size() && std::equal(lead.begin(), lead.end(), d.begin());
}

using datagrams = std::vector<byte_vector>;
using lines = std::vector<std::string>;

// A room that closes reports, between the event that closed it and `closed`, one `evicted` event
// per remaining member, in no particular order. Returns those lines sorted, and checks the rest.
lines evictions_between(const lines& all, const std::string& first, const std::string& last) {
  REQUIRE(all.size() >= 2);
  CHECK(all.front() == first);
  CHECK(all.back() == last);
  lines middle(all.begin() + 1, all.end() - 1);
  std::sort(middle.begin(), middle.end());
  return middle;
}

// A room named "lobby" with a recording output and a clock that moves only by hand.
struct room_fixture {
  explicit room_fixture(room_limits l = {}) : limits(l), r("lobby", std::nullopt, limits) {}

  client admit(const std::string& name, const peer_address& addr) {
    const auto issued = r.admit(name, addr.ip, clock.now, out);
    REQUIRE(issued.has_value());
    return {name, issued->token, addr, issued->host};
  }
  datagram_outcome send(const client& c, std::string_view message) { return send_from(c, message, c.addr); }
  datagram_outcome send_from(const client& c, std::string_view message, const peer_address& from) {
    return r.on_datagram(c.token, as_bytes(message), from, clock.now, out);
  }
  /// Admits and joins with a keepalive, then forgets what that sent.
  client join(const std::string& name, const peer_address& addr) {
    client c = admit(name, addr);
    REQUIRE(outcome_text(send(c, "")) == "keepalive");
    out.clear();
    return c;
  }
  void expire() { r.expire(clock.now, out); }

  chat_test::fake_clock clock;
  chat_test::recording_output out;
  room_limits limits;
  room r;
};

}  // namespace

TEST_CASE("room: the first member admitted is the host", "[room]") {
  room_fixture f;
  const client alice = f.admit("alice", alice_addr);
  const client bob = f.admit("bob", bob_addr);
  CHECK(alice.host);
  CHECK_FALSE(bob.host);
  CHECK(alice.token.size() == token_text_size);
  CHECK(parse_token(alice.token));
  CHECK(alice.token != bob.token);
  CHECK(f.r.member_count() == 2);
  CHECK(f.r.joined_count() == 0);
  CHECK_FALSE(f.r.closed());
  CHECK(f.r.name() == "lobby");
  CHECK(f.out.sent.empty());
  CHECK(f.out.event_lines() == lines{"admitted alice", "admitted bob"});
  REQUIRE(f.out.events.size() == 2);
  CHECK(f.out.events[0].room == "lobby");
}

TEST_CASE("room: a username already in the room is name_taken, joined or not", "[room]") {
  room_fixture f;
  const client alice = f.join("alice", alice_addr);
  const client bob = f.admit("bob", bob_addr);
  for (const char* name : {"alice", "bob"}) {
    INFO(name);
    const auto again = f.r.admit(name, carol_addr.ip, f.clock.now, f.out);
    REQUIRE(again.has_error());
    CHECK(again.error() == errc::name_taken);
  }
  CHECK(f.r.admit("Alice", carol_addr.ip, f.clock.now, f.out).has_value());  // names are compared exactly
  // Once bob leaves, his name is free again.
  CHECK(outcome_text(f.send(bob, leave)) == "control");
  CHECK(f.r.admit("bob", carol_addr.ip, f.clock.now, f.out).has_value());
  (void)alice;
}

TEST_CASE("room: admitting past max_members is room_full", "[room]") {
  room_fixture f({.max_members = 2});
  const client alice = f.join("alice", alice_addr);
  const client bob = f.join("bob", bob_addr);
  const auto carol = f.r.admit("carol", carol_addr.ip, f.clock.now, f.out);
  REQUIRE(carol.has_error());
  CHECK(carol.error() == errc::room_full);
  CHECK(f.r.member_count() == 2);
  // A full room still refuses a taken name as name_taken first.
  const auto dup = f.r.admit("bob", carol_addr.ip, f.clock.now, f.out);
  REQUIRE(dup.has_error());
  CHECK(dup.error() == errc::name_taken);
  // When bob leaves there is room again.
  CHECK(outcome_text(f.send(bob, leave)) == "control");
  CHECK(f.r.admit("carol", carol_addr.ip, f.clock.now, f.out).has_value());
  (void)alice;
}

TEST_CASE("room: the first datagram from the token's IP joins, and the others are told", "[room]") {
  room_fixture f;
  const client alice = f.admit("alice", alice_addr);
  const client bob = f.admit("bob", bob_addr);
  const client carol = f.admit("carol", carol_addr);
  f.out.clear();

  // alice joins with a keepalive: she gets a pong and the members notice, nobody else is joined
  // to be told.
  CHECK(outcome_text(f.send(alice, "")) == "keepalive");
  const auto to_alice = f.out.sent_to(alice_addr);
  REQUIRE(to_alice.size() == 2);
  CHECK(to_alice[0] == pong);
  CHECK(is_members_notice(to_alice[1]));
  CHECK(f.out.sent.size() == 2);
  CHECK(f.r.joined_count() == 1);
  REQUIRE(f.out.events.size() == 1);
  CHECK(f.out.events[0].what == room_event::kind::joined);
  CHECK(f.out.events[0].username == "alice");
  CHECK(f.out.events[0].endpoint == alice_addr);
  f.out.clear();

  // bob joins with a chat message: alice is told he joined, then gets his message; carol, not
  // joined yet, gets nothing; bob gets only the members notice.
  CHECK(outcome_text(f.send(bob, "hi")) == "relayed");
  const byte_vector expected_joined = from_hex("00 7b 22 65 76 65 6e 74 22 3a 22 6a 6f 69 6e 65 64 22 2c 22 75 73 65 72"
                                               " 22 3a 22 62 6f 62 22 7d");  // \0{"event":"joined","user":"bob"}
  CHECK(joined_notice("bob") == expected_joined);
  CHECK(f.out.sent_to(alice_addr) == datagrams{expected_joined, server_datagram_bytes("bob", "hi")});
  const auto to_bob = f.out.sent_to(bob_addr);
  REQUIRE(to_bob.size() == 1);
  CHECK(is_members_notice(to_bob[0]));
  CHECK(f.out.sent_to(carol_addr).empty());
  CHECK(f.out.event_lines() == lines{"joined bob"});
  CHECK(f.r.joined_count() == 2);
  (void)carol;
}

TEST_CASE("room: chat is relayed to every other joined member and never back to the sender", "[room]") {
  room_fixture f;
  const client alice = f.join("alice", alice_addr);
  const client bob = f.join("bob", bob_addr);
  const client carol = f.join("carol", carol_addr);
  const client dave = f.admit("dave", dave_addr);  // not joined: receives nothing
  f.out.clear();

  CHECK(outcome_text(f.send(alice, "hello")) == "relayed");
  const byte_vector from_alice = from_hex("05 61 6c 69 63 65 68 65 6c 6c 6f");  // alice, hello
  CHECK(f.out.sent_to(bob_addr) == datagrams{from_alice});
  CHECK(f.out.sent_to(carol_addr) == datagrams{from_alice});
  CHECK(f.out.sent_to(alice_addr).empty());
  CHECK(f.out.sent_to(dave_addr).empty());
  CHECK(f.out.sent.size() == 2);
  CHECK(f.out.events.empty());
  f.out.clear();

  CHECK(outcome_text(f.send(carol, "\xc3\xa9t\xc3\xa9")) == "relayed");
  CHECK(f.out.sent_to(alice_addr) == datagrams{server_datagram_bytes("carol", "\xc3\xa9t\xc3\xa9")});
  CHECK(f.out.sent_to(bob_addr) == datagrams{server_datagram_bytes("carol", "\xc3\xa9t\xc3\xa9")});
  CHECK(f.out.sent_to(carol_addr).empty());
  (void)dave;
}

TEST_CASE("room: a keepalive gets a pong to its sender only and is not relayed", "[room]") {
  room_fixture f;
  const client alice = f.join("alice", alice_addr);
  const client bob = f.join("bob", bob_addr);
  CHECK(outcome_text(f.send(bob, "")) == "keepalive");
  CHECK(f.out.sent.size() == 1);
  CHECK(f.out.sent_to(bob_addr) == datagrams{pong});
  (void)alice;
}

TEST_CASE("room: datagrams that fail authentication are dropped and nothing is sent", "[room]") {
  room_fixture f;
  const client alice = f.join("alice", alice_addr);
  const client bob = f.join("bob", bob_addr);
  const client carol = f.admit("carol", carol_addr);  // admitted, not joined
  f.out.clear();

  room other("other", std::nullopt, {});
  const auto other_token = other.admit("mallory", alice_addr.ip, f.clock.now, f.out);
  REQUIRE(other_token.has_value());
  f.out.clear();

  std::string wrong_secret = bob.token;
  wrong_secret.back() = wrong_secret.back() == 'A' ? 'B' : 'A';  // same index, different secret
  std::string wrong_index = bob.token;
  wrong_index.front() = wrong_index.front() == 'A' ? 'B' : 'A';

  struct auth_case {
    const char* name;
    std::string token;
    peer_address from;
    errc expected;
  };
  const auth_case cases[] = {
      {"garbage token", "not-a-token", bob_addr, errc::bad_token},
      {"empty token", "", bob_addr, errc::bad_token},
      {"a fresh random token", token_text(generate_token()), bob_addr, errc::bad_token},
      {"right index, wrong secret", wrong_secret, bob_addr, errc::bad_token},
      {"wrong index, right secret", wrong_index, bob_addr, errc::bad_token},
      {"another room's token", other_token->token, alice_addr, errc::bad_token},
      {"joined token from another IP", bob.token, v4(10, 0, 0, 99, 5002), errc::ip_mismatch},
      {"joined token from an IPv6 address", bob.token,
       peer_address{ip_address::from_v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}), 5002},
       errc::ip_mismatch},
      {"unjoined token from another IP", carol.token, v4(10, 0, 0, 99, 5003), errc::ip_mismatch},
      {"joined token from another port", bob.token, v4(10, 0, 0, 2, 5999), errc::port_mismatch},
      {"host token from another port", alice.token, v4(10, 0, 0, 1, 5002), errc::port_mismatch},
  };
  for (const auto& c : cases) {
    for (const std::string& message : {std::string("hi"), std::string(), leave}) {
      INFO(c.name << ", message of " << message.size() << " bytes");
      const auto outcome = f.r.on_datagram(c.token, as_bytes(message), c.from, f.clock.now, f.out);
      CHECK(outcome_text(outcome) == dropped(c.expected));
      CHECK(f.out.sent.empty());
      CHECK(f.out.events.empty());
      CHECK(f.r.member_count() == 3);
      CHECK(f.r.joined_count() == 2);
    }
  }
  // The failed attempts bound nothing: carol can still join from her own address.
  CHECK(outcome_text(f.send(carol, "")) == "keepalive");
  CHECK(f.r.joined_count() == 3);
}

TEST_CASE("room: an unjoined token may join from any port of its IP, which then binds it", "[room]") {
  room_fixture f;
  const client alice = f.join("alice", alice_addr);
  const client bob = f.admit("bob", bob_addr);
  const peer_address bob_other_port = v4(10, 0, 0, 2, 6000);
  CHECK(outcome_text(f.send_from(bob, "hi", bob_other_port)) == "relayed");
  CHECK(outcome_text(f.send_from(bob, "hi", bob_addr)) == dropped(errc::port_mismatch));
  f.out.clear();
  CHECK(outcome_text(f.send(alice, "yo")) == "relayed");
  CHECK(f.out.sent_to(bob_other_port) == datagrams{server_datagram_bytes("alice", "yo")});
}

TEST_CASE("room: chat text that is not UTF-8 is dropped as invalid_utf8", "[room]") {
  room_fixture f;
  const client alice = f.join("alice", alice_addr);
  const client bob = f.admit("bob", bob_addr);
  f.out.clear();
  for (const char* bad : {"\xff", "hi\xc3", "\xed\xa0\x80", "\xc0\x80"}) {
    INFO(chat_test::to_hex(as_bytes(bad)));
    CHECK(outcome_text(f.send(alice, bad)) == dropped(errc::invalid_utf8));
    CHECK(outcome_text(f.send(bob, bad)) == dropped(errc::invalid_utf8));
  }
  CHECK(f.out.sent.empty());
  CHECK(f.out.events.empty());
  CHECK(f.r.joined_count() == 1);  // a dropped datagram does not join bob
}

TEST_CASE("room: text too long for the sender's name is refused with an error notice, never cut", "[room]") {
  room_fixture f;
  const std::string long_name(200, 'n');
  const client alice = f.join("alice", alice_addr);
  const client bob = f.join(long_name, bob_addr);
  const std::size_t limit = max_text_bytes(long_name.size());
  REQUIRE(limit == 4094 - 1 - 200);

  // The whole client datagram still fits its 4096 bytes; only the relayed one would not.
  REQUIRE(2 + 5 + token_text_size + limit + 1 <= max_client_datagram);
  CHECK(outcome_text(f.send(bob, std::string(limit + 1, 'x'))) == dropped(errc::too_long));
  CHECK(f.out.sent_to(bob_addr) == datagrams{too_long_notice});
  CHECK(f.out.sent_to(alice_addr).empty());
  CHECK(f.out.sent.size() == 1);
  f.out.clear();

  CHECK(outcome_text(f.send(bob, std::string(limit, 'x'))) == "relayed");
  REQUIRE(f.out.sent_to(alice_addr).size() == 1);
  CHECK(f.out.sent_to(alice_addr)[0] == server_datagram_bytes(long_name, std::string(limit, 'x')));
  CHECK(f.out.sent_to(alice_addr)[0].size() == max_server_datagram);
  CHECK(f.out.sent_to(bob_addr).empty());
}

TEST_CASE("room: leave removes the member, tells the others and retires the token", "[room]") {
  room_fixture f;
  const client alice = f.join("alice", alice_addr);
  const client bob = f.join("bob", bob_addr);
  const client carol = f.join("carol", carol_addr);

  CHECK(outcome_text(f.send(bob, leave)) == "control");
  CHECK(f.out.sent_to(alice_addr) == datagrams{left_notice("bob", "leave")});
  CHECK(f.out.sent_to(carol_addr) == datagrams{left_notice("bob", "leave")});
  CHECK(f.out.sent_to(bob_addr).empty());
  CHECK(left_notice("bob", "leave") == chat_test::to_bytes(std::string_view("\0{\"event\":\"left\",\"user\":\"bob\",\"reason\":\"leave\"}", 47)));
  REQUIRE(f.out.events.size() == 1);
  CHECK(f.out.events[0].what == room_event::kind::left);
  CHECK(f.out.events[0].username == "bob");
  CHECK(f.out.events[0].endpoint == bob_addr);
  CHECK(f.r.member_count() == 2);
  CHECK(f.r.joined_count() == 2);
  CHECK_FALSE(f.r.closed());
  f.out.clear();

  // bob's token is gone; the rest of the room carries on.
  CHECK(outcome_text(f.send(bob, "still here?")) == dropped(errc::bad_token));
  CHECK(f.out.sent.empty());
  CHECK(outcome_text(f.send(carol, "bye bob")) == "relayed");
  CHECK(f.out.sent_to(alice_addr) == datagrams{server_datagram_bytes("carol", "bye bob")});
  CHECK(f.out.sent_to(bob_addr).empty());
}

TEST_CASE("room: a member that leaves before joining is not announced", "[room]") {
  room_fixture f;
  const client alice = f.join("alice", alice_addr);
  const client bob = f.admit("bob", bob_addr);
  f.out.clear();
  CHECK(outcome_text(f.send(bob, leave)) == "control");
  CHECK(f.out.sent.empty());
  CHECK(f.r.member_count() == 1);
  CHECK(outcome_text(f.send(bob, "")) == dropped(errc::bad_token));
  (void)alice;
}

TEST_CASE("room: a bad control message is dropped and the member stays", "[room]") {
  room_fixture f;
  const client alice = f.join("alice", alice_addr);
  const client bob = f.join("bob", bob_addr);
  for (const std::string& bad : {chat_test::control_message(R"({"type":"dance"})"), chat_test::control_message("{"),
                                 chat_test::control_message("[]"), std::string(1, '\0')}) {
    CHECK(outcome_text(f.send(bob, bad)) == dropped(errc::bad_control));
  }
  CHECK(f.out.sent.empty());
  CHECK(f.r.joined_count() == 2);
  (void)alice;
}

// The chat budget bounds what a member makes the room send to others; a leave sends each of them
// one notice, once per member, so it is never charged to that budget nor refused by it.
TEST_CASE("room: a member over its chat rate can still leave", "[room][rate]") {
  room_fixture f({.chat = {10, 30}});
  const client alice = f.join("alice", alice_addr);
  const client bob = f.join("bob", bob_addr);
  for (int i = 0; i < 30; ++i) REQUIRE(outcome_text(f.send(bob, "line " + std::to_string(i))) == "relayed");
  for (int i = 0; i < 10; ++i) CHECK(outcome_text(f.send(bob, "more")) == dropped(errc::rate_limited));
  f.out.clear();

  CHECK(outcome_text(f.send(bob, leave)) == "control");
  CHECK(f.out.sent_to(alice_addr) == datagrams{left_notice("bob", "leave")});
  CHECK(f.out.sent_to(bob_addr).empty());
  CHECK(f.out.event_lines() == lines{"left bob (leave)"});
  CHECK(f.r.member_count() == 1);
  (void)alice;
}

TEST_CASE("room: a host who pastes past its chat burst and quits closes the room at once", "[room][rate]") {
  room_fixture f({.chat = {10, 30}});
  const client alice = f.join("alice", alice_addr);
  const client bob = f.join("bob", bob_addr);
  std::size_t relayed = 0;
  for (int i = 0; i < 40; ++i) relayed += outcome_text(f.send(alice, "pasted line " + std::to_string(i))) == "relayed";
  CHECK(relayed == 30);
  f.out.clear();

  CHECK(outcome_text(f.send(alice, leave)) == "control");
  CHECK(f.out.sent_to(bob_addr) == datagrams{room_closed_notice("host_left")});
  CHECK(f.r.closed());
  // The name is free: the registry may create "lobby" again now, not after a timeout.
  CHECK_FALSE(f.r.next_deadline());
}

TEST_CASE("room: control messages neither spend nor wait for the chat budget", "[room][rate]") {
  room_fixture f({.chat = {1, 2}});
  const client alice = f.join("alice", alice_addr);
  const client bob = f.join("bob", bob_addr);
  // Invalid control messages are dropped for what they are, however many, and cost no chat.
  for (int i = 0; i < 50; ++i)
    REQUIRE(outcome_text(f.send(bob, chat_test::control_message(R"({"type":"dance"})"))) == dropped(errc::bad_control));
  CHECK(f.out.sent.empty());
  CHECK(outcome_text(f.send(bob, "one")) == "relayed");
  CHECK(outcome_text(f.send(bob, "two")) == "relayed");
  CHECK(outcome_text(f.send(bob, "three")) == dropped(errc::rate_limited));
  // Over the budget, a bad control message is still a bad control message, never a rate_limited
  // notice, and a leave still leaves.
  f.out.clear();
  CHECK(outcome_text(f.send(bob, chat_test::control_message("{"))) == dropped(errc::bad_control));
  CHECK(f.out.sent.empty());
  CHECK(outcome_text(f.send(bob, leave)) == "control");
  CHECK(f.out.sent_to(alice_addr) == datagrams{left_notice("bob", "leave")});
  // A token that never joined may leave past its budget too (nothing was announced).
  const client carol = f.admit("carol", carol_addr);
  for (int i = 0; i < 3; ++i) (void)f.send(carol, chat_test::control_message("[]"));
  f.out.clear();
  CHECK(outcome_text(f.send(carol, leave)) == "control");
  CHECK(f.out.sent.empty());
  CHECK(f.r.member_count() == 1);
}

TEST_CASE("room: when the host leaves, the room closes and every other member is told", "[room]") {
  room_fixture f;
  const client alice = f.join("alice", alice_addr);
  const client bob = f.join("bob", bob_addr);
  const client carol = f.join("carol", carol_addr);
  const client dave = f.admit("dave", dave_addr);
  f.out.clear();

  CHECK(outcome_text(f.send(alice, leave)) == "control");
  CHECK(f.out.sent_to(bob_addr) == datagrams{room_closed_notice("host_left")});
  CHECK(f.out.sent_to(carol_addr) == datagrams{room_closed_notice("host_left")});
  CHECK(f.out.sent_to(alice_addr).empty());
  CHECK(f.out.sent_to(dave_addr).empty());
  CHECK(evictions_between(f.out.event_lines(), "left alice (leave)", "closed (host_left)") ==
        lines{"evicted bob", "evicted carol", "evicted dave"});
  for (const auto& e : f.out.events) {
    if (e.what != room_event::kind::evicted) continue;
    INFO("evicted " << e.username);
    CHECK(e.joined == (e.username != "dave"));  // dave never sent a datagram
    if (e.joined) CHECK(e.endpoint == (e.username == "bob" ? bob_addr : carol_addr));
  }
  CHECK(f.r.closed());
  CHECK(f.r.member_count() == 0);
  CHECK(f.r.joined_count() == 0);
  CHECK_FALSE(f.r.next_deadline());
  f.out.clear();

  // A closed room accepts nothing and sends nothing more.
  for (const client* c : {&alice, &bob, &carol, &dave}) {
    INFO(c->name);
    CHECK(outcome_text(f.send(*c, "anyone?")) == dropped(errc::room_closed));
    CHECK(outcome_text(f.send(*c, "")) == dropped(errc::room_closed));
  }
  const auto late = f.r.admit("erin", alice_addr.ip, f.clock.now, f.out);
  REQUIRE(late.has_error());
  CHECK(late.error() == errc::room_closed);
  f.r.on_unreachable(bob_addr, f.clock.now, f.out);
  f.clock.advance(1h);
  f.expire();
  f.r.shutdown(f.out);
  CHECK(f.out.sent.empty());
  CHECK(f.out.events.empty());
}

TEST_CASE("room: a member silent for the inactivity timeout is removed", "[room]") {
  room_fixture f({.inactivity_timeout = 60s});
  const auto t0 = f.clock.now;
  const client alice = f.join("alice", alice_addr);
  const client bob = f.join("bob", bob_addr);
  const client carol = f.join("carol", carol_addr);
  CHECK(f.r.next_deadline() == t0 + 60s);

  f.clock.advance(30s);
  CHECK(outcome_text(f.send(alice, "")) == "keepalive");
  CHECK(outcome_text(f.send(carol, "still here")) == "relayed");
  f.out.clear();
  CHECK(f.r.next_deadline() == t0 + 60s);  // bob's

  f.clock.now = t0 + 60s - 1ms;
  f.expire();
  CHECK(f.out.sent.empty());
  CHECK(f.r.joined_count() == 3);

  f.clock.now = t0 + 60s;
  f.expire();
  CHECK(f.out.sent_to(bob_addr) == datagrams{timeout_notice});
  CHECK(f.out.sent_to(alice_addr) == datagrams{left_notice("bob", "timeout")});
  CHECK(f.out.sent_to(carol_addr) == datagrams{left_notice("bob", "timeout")});
  CHECK(f.out.event_lines() == lines{"timed_out bob (timeout)"});
  CHECK(f.r.joined_count() == 2);
  CHECK(f.r.next_deadline() == t0 + 30s + 60s);
  f.out.clear();

  // bob must join again: his token is gone.
  CHECK(outcome_text(f.send(bob, "")) == dropped(errc::bad_token));
  CHECK(f.out.sent.empty());
}

TEST_CASE("room: any accepted datagram refreshes the member's deadline", "[room]") {
  room_fixture f({.inactivity_timeout = 60s});
  const auto t0 = f.clock.now;
  const client alice = f.join("alice", alice_addr);
  const client bob = f.join("bob", bob_addr);
  f.clock.advance(50s);
  CHECK(outcome_text(f.send(alice, "")) == "keepalive");
  CHECK(outcome_text(f.send(bob, "chat")) == "relayed");
  CHECK(f.r.next_deadline() == t0 + 110s);
  f.clock.now = t0 + 100s;
  f.expire();
  CHECK(f.r.joined_count() == 2);
}

TEST_CASE("room: when the host times out the room closes", "[room]") {
  room_fixture f({.inactivity_timeout = 60s});
  const client alice = f.join("alice", alice_addr);
  f.clock.advance(10s);
  const client bob = f.join("bob", bob_addr);
  f.clock.advance(50s);
  f.expire();
  CHECK(f.out.sent_to(alice_addr) == datagrams{timeout_notice});
  CHECK(f.out.sent_to(bob_addr) == datagrams{room_closed_notice("host_timeout")});
  CHECK(evictions_between(f.out.event_lines(), "timed_out alice (timeout)", "closed (host_timeout)") ==
        lines{"evicted bob"});
  CHECK(f.r.closed());
  CHECK(f.r.member_count() == 0);
}

TEST_CASE("room: a token never used within its TTL expires", "[room]") {
  room_fixture f({.inactivity_timeout = 60s, .token_ttl = 30s});
  const auto t0 = f.clock.now;
  const client alice = f.join("alice", alice_addr);
  f.clock.advance(10s);
  const client bob = f.admit("bob", bob_addr);
  f.out.clear();
  CHECK(f.r.next_deadline() == t0 + 10s + 30s);

  f.clock.now = t0 + 40s - 1ms;
  f.expire();
  CHECK(f.r.member_count() == 2);

  f.clock.now = t0 + 40s;
  f.expire();
  CHECK(f.out.sent.empty());  // bob never proved his address: nothing is sent anywhere
  CHECK(f.out.event_lines() == lines{"token_expired bob (token_expired)"});
  CHECK(f.r.member_count() == 1);
  CHECK(f.r.next_deadline() == t0 + 60s);
  CHECK(outcome_text(f.send(bob, "")) == dropped(errc::bad_token));
  (void)alice;
}

TEST_CASE("room: a host that never joins closes the room when its token expires", "[room]") {
  room_fixture f({.inactivity_timeout = 60s, .token_ttl = 30s});
  const client alice = f.admit("alice", alice_addr);
  const client bob = f.join("bob", bob_addr);
  f.clock.advance(30s);
  f.expire();
  CHECK(f.out.sent_to(bob_addr) == datagrams{room_closed_notice("host_never_joined")});
  CHECK(f.out.sent_to(alice_addr).empty());
  CHECK(evictions_between(f.out.event_lines(), "token_expired alice (token_expired)",
                          "closed (host_never_joined)") == lines{"evicted bob"});
  CHECK(f.r.closed());
}

TEST_CASE("room: next_deadline is the earliest of every member's deadline", "[room]") {
  room_fixture f({.inactivity_timeout = 60s, .token_ttl = 5s});
  const auto t0 = f.clock.now;
  CHECK_FALSE(f.r.next_deadline());
  const client alice = f.join("alice", alice_addr);
  CHECK(f.r.next_deadline() == t0 + 60s);
  f.clock.advance(1s);
  const client bob = f.admit("bob", bob_addr);
  CHECK(f.r.next_deadline() == t0 + 1s + 5s);
  f.clock.advance(2s);
  CHECK(outcome_text(f.send(bob, "")) == "keepalive");
  CHECK(f.r.next_deadline() == t0 + 60s);
  // Nothing is due before the deadline; something is at it.
  f.clock.now = *f.r.next_deadline() - 1ms;
  f.out.clear();
  f.expire();
  CHECK(f.out.events.empty());
  f.clock.now = *f.r.next_deadline();
  f.expire();
  CHECK_FALSE(f.out.events.empty());
}

TEST_CASE("room: a member reported unreachable three times in a row is removed", "[room]") {
  room_fixture f;
  const client alice = f.join("alice", alice_addr);
  const client bob = f.join("bob", bob_addr);
  const client carol = f.join("carol", carol_addr);

  f.r.on_unreachable(bob_addr, f.clock.now, f.out);
  f.r.on_unreachable(bob_addr, f.clock.now, f.out);
  CHECK(f.out.sent.empty());
  // A datagram from bob in between proves he is there: the count starts over.
  CHECK(outcome_text(f.send(bob, "")) == "keepalive");
  f.out.clear();
  f.r.on_unreachable(bob_addr, f.clock.now, f.out);
  f.r.on_unreachable(bob_addr, f.clock.now, f.out);
  CHECK(f.out.sent.empty());
  CHECK(f.r.joined_count() == 3);
  // Reports for other addresses, or another port of bob's IP, do not count against bob.
  f.r.on_unreachable(v4(10, 0, 0, 2, 9999), f.clock.now, f.out);
  f.r.on_unreachable(v4(192, 0, 2, 1, 5002), f.clock.now, f.out);
  CHECK(f.r.joined_count() == 3);

  // Three in a row, but within the grace: a burst of forged reports removes nobody.
  f.r.on_unreachable(bob_addr, f.clock.now, f.out);
  f.r.on_unreachable(bob_addr, f.clock.now, f.out);
  CHECK(f.r.joined_count() == 3);
  // Once the streak is older than the grace (longer than a live client's keepalive interval),
  // the next report removes him.
  f.clock.advance(f.limits.unreachable_grace);
  f.r.on_unreachable(bob_addr, f.clock.now, f.out);
  CHECK(f.r.joined_count() == 2);
  CHECK(f.out.sent_to(bob_addr) == datagrams{timeout_notice});
  CHECK(f.out.sent_to(alice_addr) == datagrams{left_notice("bob", "unreachable")});
  CHECK(f.out.sent_to(carol_addr) == datagrams{left_notice("bob", "unreachable")});
  CHECK(f.out.event_lines() == lines{"unreachable bob (unreachable)"});
  CHECK(outcome_text(f.send(bob, "")) == dropped(errc::bad_token));
}

TEST_CASE("room: an unreachable host closes the room", "[room]") {
  room_fixture f({.unreachable_limit = 2});
  const client alice = f.join("alice", alice_addr);
  const client bob = f.join("bob", bob_addr);
  f.r.on_unreachable(alice_addr, f.clock.now, f.out);
  CHECK_FALSE(f.r.closed());
  f.clock.advance(f.limits.unreachable_grace);
  f.r.on_unreachable(alice_addr, f.clock.now, f.out);
  CHECK(f.r.closed());
  CHECK(f.out.sent_to(bob_addr) == datagrams{room_closed_notice("host_unreachable")});
}

TEST_CASE("room: shutdown tells every joined member and closes the room", "[room]") {
  room_fixture f;
  const client alice = f.join("alice", alice_addr);
  const client bob = f.join("bob", bob_addr);
  const client carol = f.admit("carol", carol_addr);
  f.out.clear();
  f.r.shutdown(f.out);
  CHECK(f.out.sent_to(alice_addr) == datagrams{shutdown_notice});
  CHECK(f.out.sent_to(bob_addr) == datagrams{shutdown_notice});
  CHECK(f.out.sent_to(carol_addr).empty());
  CHECK(f.out.sent.size() == 2);
  const lines events = f.out.event_lines();
  REQUIRE_FALSE(events.empty());
  CHECK(events.back() == "shut_down");
  lines evicted(events.begin(), events.end() - 1);
  std::sort(evicted.begin(), evicted.end());
  CHECK(evicted == lines{"evicted alice", "evicted bob", "evicted carol"});
  CHECK(f.r.closed());
  CHECK(f.r.member_count() == 0);
  f.out.clear();
  f.r.shutdown(f.out);
  CHECK(outcome_text(f.send(alice, "")) == dropped(errc::room_closed));
  CHECK(f.out.sent.empty());
  CHECK(f.out.events.empty());
  (void)carol;
}

TEST_CASE("room: a password hash is kept for the caller to check", "[room]") {
  const password_hash h = hash_password("pw", {.log2_cost = 10});
  room r("secret", h, {});
  REQUIRE(r.password());
  CHECK(verify_password("pw", *r.password()));
  room open("open", std::nullopt, {});
  CHECK_FALSE(open.password());
}

// A few thousand random operations against one room (and its successors once it closes), with
// the invariants checked after every step.
TEST_CASE("room: random operations keep the invariants", "[room][random]") {
  std::mt19937 rng(20240611);
  // mt19937's output is fixed by the standard (distributions are not), so the run is the same
  // with every standard library.
  const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };

  const room_limits limits{
      .max_members = 6, .inactivity_timeout = 10s, .token_ttl = 4s, .unreachable_limit = 3, .unreachable_grace = 2s};
  chat_test::fake_clock clock;
  chat_test::recording_output out;
  std::optional<room> r;
  struct sim_client {
    client c;
    std::optional<peer_address> joined_from;  // learned from the room's joined event
    peer_address home() const { return joined_from ? *joined_from : c.addr; }
  };
  std::vector<sim_client> clients;
  std::unordered_set<peer_address, peer_address_hash> proven;  // addresses a joined event named
  int next_id = 0;
  int steps_closed = 0;
  int rooms = 0;
  int relayed = 0;
  int too_long = 0;
  std::map<std::string, int> seen_events;
  const std::array<ip_address, 3> ips{v4(10, 0, 0, 1, 0).ip, v4(10, 0, 0, 2, 0).ip, v4(10, 0, 0, 3, 0).ip};

  const auto new_room = [&] {
    r.emplace("lobby", std::nullopt, limits);
    clients.clear();
    proven.clear();
    steps_closed = 0;
    ++rooms;
  };
  new_room();

  for (int step = 0; step < 5000; ++step) {
    INFO("step " << step);
    out.clear();
    const bool was_closed = r->closed();
    std::optional<peer_address> sender;
    std::optional<datagram_outcome> outcome;
    bool expired = false;

    const std::size_t op = pick(100);
    if (op < 15) {
      const int id = next_id++;
      // Some long names, so that 4000 bytes of text is too long for them and not for others.
      const std::string name = "u" + std::to_string(id) + std::string(pick(3) == 0 ? 100 : 0, 'x');
      const peer_address addr{ips[pick(ips.size())], static_cast<std::uint16_t>(1000 + id)};
      const auto issued = r->admit(name, addr.ip, clock.now, out);
      if (issued) clients.push_back({{name, issued->token, addr, issued->host}, std::nullopt});
      else CHECK((issued.error() == errc::room_full || issued.error() == errc::room_closed));
    } else if (op < 65 && !clients.empty()) {
      const sim_client& s = clients[pick(clients.size())];
      std::string token = s.c.token;
      peer_address from = s.home();
      switch (pick(10)) {
        case 0: from.ip = v4(192, 0, 2, 7, 0).ip; break;                                    // wrong IP
        case 1: from.port = static_cast<std::uint16_t>(60000 + (s.c.addr.port - 1000)); break;  // other port
        case 2: token = token_text(generate_token()); break;                               // bad token
        default: break;
      }
      std::string message;
      switch (pick(8)) {
        case 0: message = ""; break;
        case 1: message = leave; break;
        case 2: message = "\xff\xfe"; break;
        case 3: message = chat_test::control_message("{}"); break;
        case 4: message = std::string(4000, 'x'); break;
        default: message = "m" + std::to_string(step); break;
      }
      sender = from;
      outcome = r->on_datagram(token, as_bytes(message), from, clock.now, out);
    } else if (op < 80) {
      clock.advance(std::chrono::milliseconds(pick(4000)));
      r->expire(clock.now, out);
      expired = true;
    } else if (op < 95 && !clients.empty()) {
      r->on_unreachable(clients[pick(clients.size())].home(), clock.now, out);
    } else if (op == 99) {
      r->shutdown(out);
    }

    // Learn who joined from where, before judging where datagrams went.
    for (const auto& e : out.events) ++seen_events[std::string(libchat::room_event_kind_name(e.what))];
    for (const auto& e : out.events) {
      if (e.what != room_event::kind::joined) continue;
      proven.insert(e.endpoint);
      for (auto& s : clients)
        if (s.c.name == e.username) s.joined_from = e.endpoint;
    }

    CHECK(r->member_count() <= limits.max_members);
    CHECK(r->joined_count() <= r->member_count());
    // Nothing is ever sent to an address that has not proved it holds a token.
    for (const auto& s : out.sent) CHECK(proven.contains(s.to));

    if (was_closed) {
      // A closed room sends nothing more and reports nothing more.
      CHECK(out.sent.empty());
      CHECK(out.events.empty());
    }
    if (r->closed()) {
      CHECK(r->member_count() == 0);
      CHECK(r->joined_count() == 0);
      CHECK_FALSE(r->next_deadline());
    } else {
      CHECK(r->next_deadline().has_value() == (r->member_count() > 0));
      if (expired && r->next_deadline()) CHECK(*r->next_deadline() > clock.now);
    }

    if (outcome) {
      const std::string what = outcome_text(*outcome);
      std::size_t chat_sent = 0;
      for (const auto& s : out.sent) {
        REQUIRE_FALSE(s.bytes.empty());
        if (s.bytes[0] != 0) ++chat_sent;
      }
      if (what == "relayed") {
        ++relayed;
        // Exactly one copy to every other joined member, none to the sender.
        CHECK(chat_sent == r->joined_count() - 1);
        for (const auto& s : out.sent) CHECK((s.to != *sender || is_members_notice(s.bytes)));
      } else if (what == "keepalive") {
        CHECK(chat_sent == 0);
        std::size_t pongs = 0;
        for (const auto& s : out.sent) {
          if (s.to == *sender && !is_members_notice(s.bytes)) {
            CHECK(s.bytes == pong);
            ++pongs;
          }
        }
        CHECK(pongs == 1);
      } else if (what == dropped(errc::too_long)) {
        ++too_long;
        CHECK(chat_sent == 0);
        for (const auto& s : out.sent)
          if (s.to == *sender && !is_members_notice(s.bytes)) CHECK(s.bytes == too_long_notice);
      } else if (what == "control") {
        CHECK(chat_sent == 0);
        for (const auto& s : out.sent) CHECK((s.to != *sender || is_members_notice(s.bytes)));
      } else {
        // Every other drop happens before anything is sent.
        CHECK(out.sent.empty());
        CHECK(out.events.empty());
      }
    }

    if (r->closed() && ++steps_closed > 20) new_room();
  }
  // The run exercised what it was meant to.
  CHECK(relayed > 100);
  CHECK(too_long > 0);
  for (const char* kind : {"admitted", "joined", "left", "timed_out", "unreachable", "token_expired", "evicted",
                           "closed", "shut_down"}) {
    INFO(kind);
    CHECK(seen_events[kind] > 0);
  }
  std::string summary;
  for (const auto& [kind, count] : seen_events) summary += kind + "=" + std::to_string(count) + " ";
  INFO(summary);
  CHECK(rooms > 3);
}

TEST_CASE("room: a second token cannot join from an address and port another member uses", "[room]") {
  room_fixture f;
  const client alice = f.join("alice", alice_addr);
  client bob = f.admit("bob", alice_addr);  // same host, and here the same port too
  f.out.clear();
  CHECK(outcome_text(f.send(bob, "hi")) == "dropped: endpoint_in_use");
  CHECK(f.out.sent.empty());
  CHECK(f.r.joined_count() == 1);
  (void)alice;
}
