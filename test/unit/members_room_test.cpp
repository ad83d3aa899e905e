// The room's side of the members notice: when it is sent, to whom, and how often it can be asked
// for. The encoding itself is members_test.cpp's.
#include "libchat/room.hpp"

#include <catch2/catch.hpp>

#include "libchat/control.hpp"
#include "libchat/datagram.hpp"
#include "support/catch_strings.hpp"
#include "support/fake_clock.hpp"
#include "support/frames.hpp"
#include "support/recording_output.hpp"

#include <set>
#include <string>
#include <vector>

using namespace libchat;
using namespace std::chrono_literals;
using chat_test::outcome_text;
using chat_test::v4;

namespace {

struct client {
  std::string token;
  peer_address addr;
};

struct members_fixture {
  explicit members_fixture(room_limits l = {}) : limits(l), r("lobby", std::nullopt, limits) {}

  client admit(const std::string& name, const peer_address& addr) {
    const auto issued = r.admit(name, addr.ip, clock.now, out);
    REQUIRE(issued.has_value());
    return {issued->token, addr};
  }
  std::string send(const client& c, std::string_view message) {
    return outcome_text(r.on_datagram(c.token, as_bytes(message), c.addr, clock.now, out));
  }
  /// The members notices sent to `to`, parsed.
  std::vector<notice> members_sent_to(const peer_address& to) const {
    std::vector<notice> found;
    for (const auto& d : out.sent_to(to)) {
      auto decoded = decode_server_datagram(d);
      REQUIRE(decoded.has_value());
      if (!decoded->is_notice()) continue;
      auto n = parse_notice(as_text(decoded->text));
      REQUIRE(n.has_value());
      if (n->event == notice_event::members) found.push_back(*n);
    }
    return found;
  }

  chat_test::fake_clock clock;
  chat_test::recording_output out;
  room_limits limits;
  room r;
};

const std::string members_request = encode_control(control_type::members);

peer_address addr_of(int i) {
  return v4(10, 0, static_cast<std::uint8_t>(i / 250), static_cast<std::uint8_t>(1 + i % 250),
            static_cast<std::uint16_t>(5000 + i));
}

}  // namespace

TEST_CASE("members room: each member gets, right after its pong, every joined member with the host",
          "[room][members]") {
  members_fixture f;
  const client alice = f.admit("alice", addr_of(1));
  const client bob = f.admit("bob", addr_of(2));
  const client carol = f.admit("carol", addr_of(3));

  CHECK(f.send(alice, "") == "keepalive");
  CHECK(f.send(bob, "") == "keepalive");
  f.out.clear();
  CHECK(f.send(carol, "") == "keepalive");
  const auto to_carol = f.out.sent_to(carol.addr);
  REQUIRE(to_carol.size() == 2);
  CHECK(to_carol[0] == chat_test::notice_datagram(R"({"event":"pong"})"));
  CHECK(to_carol[1] == chat_test::notice_datagram(
                           R"({"event":"members","part":1,"parts":1,"host":"alice","users":["alice","bob","carol"]})"));
  // The others hear only that carol joined: the list goes to the newcomer alone.
  CHECK(f.members_sent_to(alice.addr).empty());
  CHECK(f.members_sent_to(bob.addr).empty());

  // Once joined, a keepalive is answered with a pong only.
  f.out.clear();
  CHECK(f.send(carol, "") == "keepalive");
  CHECK(f.out.sent.size() == 1);
}

TEST_CASE("members room: tokens that have not joined are not listed, nor is a host that has not", "[room][members]") {
  members_fixture f;
  f.admit("alice", addr_of(1));  // the host, never heard from
  const client bob = f.admit("bob", addr_of(2));
  f.admit("carol", addr_of(3));
  CHECK(f.send(bob, "hello") == "relayed");  // a chat message joins too
  const auto lists = f.members_sent_to(bob.addr);
  REQUIRE(lists.size() == 1);
  CHECK(lists[0].users == std::vector<std::string>{"bob"});
  CHECK(lists[0].host.empty());
}

TEST_CASE("members room: the request is answered at most once a second, from the chat budget", "[room][members]") {
  members_fixture f;
  const client alice = f.admit("alice", addr_of(1));
  const client bob = f.admit("bob", addr_of(2));
  CHECK(f.send(alice, "") == "keepalive");
  CHECK(f.send(bob, "") == "keepalive");
  f.out.clear();

  // Within a second of joining (which sent the list): refused, silently.
  CHECK(f.send(bob, members_request) == chat_test::dropped(errc::rate_limited));
  CHECK(f.out.sent.empty());
  f.clock.advance(1s);
  CHECK(f.send(bob, members_request) == "control");
  auto lists = f.members_sent_to(bob.addr);
  REQUIRE(lists.size() == 1);
  CHECK(lists[0].users.size() == 2);
  CHECK(f.out.sent_to(alice.addr).empty());
  f.out.clear();
  f.clock.advance(500ms);
  CHECK(f.send(bob, members_request) == chat_test::dropped(errc::rate_limited));
  CHECK(f.out.sent.empty());

  // A member who spent its chat budget gets no list either.
  f.clock.advance(1s);
  for (int i = 0; i < 40; ++i) (void)f.send(bob, "spam");
  f.out.clear();
  CHECK(f.send(bob, members_request) == chat_test::dropped(errc::rate_limited));
  CHECK(f.members_sent_to(bob.addr).empty());
}

TEST_CASE("members room: a request as the first datagram joins, and the list comes once", "[room][members]") {
  members_fixture f;
  const client alice = f.admit("alice", addr_of(1));
  CHECK(f.send(alice, members_request) == "control");
  CHECK(f.r.joined_count() == 1);
  CHECK(f.members_sent_to(alice.addr).size() == 1);
  CHECK(f.out.sent.size() == 1);
}

TEST_CASE("members room: a full room's list is split, and every part goes to the newcomer", "[room][members]") {
  room_limits limits;
  limits.max_members = 1000;
  limits.joins = rate_limit{1000, 1000};
  members_fixture f(limits);
  std::vector<client> clients;
  std::set<std::string> names;
  for (int i = 0; i < 1000; ++i) {
    std::string name = std::to_string(i) + "_";
    name.resize(255, 'n');
    names.insert(name);
    clients.push_back(f.admit(name, addr_of(i)));
    CHECK(f.send(clients.back(), "") == "keepalive");
  }
  const auto lists = f.members_sent_to(clients.back().addr);
  REQUIRE(lists.size() > 60);
  std::set<std::string> listed;
  for (std::size_t i = 0; i < lists.size(); ++i) {
    CHECK(lists[i].part == i + 1);
    CHECK(lists[i].parts == lists.size());
    CHECK(lists[i].host == *names.find("0_" + std::string(253, 'n')));
    listed.insert(lists[i].users.begin(), lists[i].users.end());
  }
  CHECK(listed == names);
  for (const auto& s : f.out.sent) CHECK(s.bytes.size() <= max_server_datagram);
}
