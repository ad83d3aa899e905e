// Chat over UDP against the real server: relay, the token/IP/port rules, refusals and the
// accounting of every datagram.
#include "server_process.hpp"
#include "wire_client.hpp"

#include "libchat/control.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace chat_test;
using libchat::operation;

namespace {
struct room_of_three {
  server_process& server;
  member alice, bob, carol;

  explicit room_of_three(server_process& s)
      : server(s),
        alice(join_member(s.tcp_port(), s.udp_port(), operation::create_room, "lobby", "alice")),
        bob(join_member(s.tcp_port(), s.udp_port(), operation::join_room, "lobby", "bob")),
        carol(join_member(s.tcp_port(), s.udp_port(), operation::join_room, "lobby", "carol")) {
    // Joined notices: alice hears bob and carol; bob hears carol.
    REQUIRE(alice.udp->receive_message()->second == R"({"event":"joined","user":"bob"})");
    REQUIRE(alice.udp->receive_message()->second == R"({"event":"joined","user":"carol"})");
    REQUIRE(bob.udp->receive_message()->second == R"({"event":"joined","user":"carol"})");
  }
};

void check_accounting(server_process& server) {
  auto s = server.settled_stats();
  CHECK(s.at("received") == s.at("relayed") + s.at("keepalive") + s.at("control") + s.at("dropped"));
}
}  // namespace

TEST_CASE("a message is relayed to every other member and not back to the sender", "[integration][relay]") {
  server_process server;
  room_of_three room(server);

  room.bob.say("hello, wörld");
  for (auto* m : {&room.alice, &room.carol}) {
    auto got = m->udp->receive_message();
    REQUIRE(got);
    CHECK(got->first == "bob");
    CHECK(got->second == "hello, wörld");
  }
  CHECK(room.bob.udp->silent());

  // A burst (up to the per-member limit, 30) arrives whole and in order, on loopback.
  for (int i = 0; i < 29; ++i) room.alice.say("line " + std::to_string(i));
  for (int i = 0; i < 29; ++i) {
    auto got = room.carol.udp->receive_message();
    REQUIRE(got);
    CHECK(got->second == "line " + std::to_string(i));
  }
  check_accounting(server);
}

TEST_CASE("datagrams without a valid token, IP and port are dropped silently", "[integration][relay]") {
  server_process server;
  room_of_three room(server);

  SECTION("an unknown token") {
    udp_peer stranger(server.udp_port());
    stranger.send("lobby", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "let me in");
    stranger.send("lobby", "not-even-a-token", "let me in");
    CHECK(stranger.silent());
    CHECK(room.alice.udp->silent(100ms));
    auto s = server.settled_stats();
    CHECK(s.at("bad_token") == 2);
  }
  SECTION("the right token from another IP address") {
    udp_peer elsewhere(server.udp_port(), "127.0.0.2");
    elsewhere.send("lobby", room.bob.token, "it's me, bob");
    CHECK(elsewhere.silent());
    CHECK(room.alice.udp->silent(100ms));
    CHECK(server.settled_stats().at("ip_mismatch") == 1);
  }
  SECTION("the right token from another port of the same IP") {
    udp_peer other_port(server.udp_port());
    other_port.send("lobby", room.bob.token, "still bob");
    CHECK(other_port.silent());
    CHECK(room.alice.udp->silent(100ms));
    CHECK(server.settled_stats().at("port_mismatch") == 1);
  }
  SECTION("a room that does not exist") {
    udp_peer stranger(server.udp_port());
    stranger.send("elsewhere", room.bob.token, "hi");
    CHECK(stranger.silent());
    CHECK(server.settled_stats().at("unknown_room") == 1);
  }
  SECTION("malformed and oversized datagrams") {
    udp_peer stranger(server.udp_port());
    stranger.send_raw({});                                 // empty
    stranger.send_raw({5});                                // truncated header
    stranger.send_raw({0, 4, 't', 'o', 'k', 'n'});         // RoomNameSize 0
    stranger.send_raw({200, 4, 'l', 'o', 'b', 'b', 'y'});  // sizes longer than the datagram
    stranger.send_raw(std::vector<std::uint8_t>(4097, 'x'));
    CHECK(stranger.silent());
    auto s = server.settled_stats();
    CHECK(s.at("malformed") == 4);
    CHECK(s.at("oversize") == 1);
  }
  SECTION("invalid UTF-8 from a member") {
    room.bob.say("bad \xC0\x80 bytes");
    CHECK(room.alice.udp->silent());
    CHECK(server.settled_stats().at("invalid_utf8") == 1);
  }
  check_accounting(server);
}

TEST_CASE("chat text too long for the relay frame is refused, never cut", "[integration][relay]") {
  server_process server;
  // A long username and a short room name: the text fits the 4096-byte client datagram but, with
  // the sender's name, not the 4094-byte relay datagram (1 + 200 + text).
  const std::string long_name(200, 'u');
  auto host = join_member(server.tcp_port(), server.udp_port(), operation::create_room, "r", "host");
  auto talker = join_member(server.tcp_port(), server.udp_port(), operation::join_room, "r", long_name);
  REQUIRE(host.udp->receive_message());  // joined

  talker.say(std::string(3894, 'a'));
  auto error = talker.udp->receive_message();
  REQUIRE(error);
  CHECK(error->first.empty());
  CHECK(error->second == R"({"event":"error","error":"too_long"})");
  CHECK(host.udp->silent());

  talker.say(std::string(3893, 'a'));
  auto got = host.udp->receive_message();
  REQUIRE(got);
  CHECK(got->first == long_name);
  CHECK(got->second.size() == 3893);
  CHECK(server.settled_stats().at("too_long") == 1);
  check_accounting(server);
}

TEST_CASE("a keepalive is answered with pong and never relayed", "[integration][relay]") {
  server_process server;
  room_of_three room(server);
  room.carol.say("");
  auto pong = room.carol.udp->receive_message();
  REQUIRE(pong);
  CHECK(pong->first.empty());
  CHECK(pong->second == R"({"event":"pong"})");
  CHECK(room.alice.udp->silent());
  CHECK(room.bob.udp->silent(50ms));
}

TEST_CASE("a member sending faster than the limit is told, and the room is not flooded", "[integration][relay]") {
  server_process server({"--chat-rate", "5", "--chat-burst", "10"});
  room_of_three room(server);
  for (int i = 0; i < 40; ++i) room.bob.say("spam " + std::to_string(i));
  int relayed = 0;
  while (room.alice.udp->receive_message(300ms)) ++relayed;
  CHECK(relayed >= 10);
  CHECK(relayed <= 12);  // the burst, and what the rate refilled meanwhile
  auto told = room.bob.udp->receive_message();
  REQUIRE(told);
  CHECK(told->second == R"({"event":"error","error":"rate_limited"})");
  CHECK(room.bob.udp->silent(100ms));  // told once, not once per datagram
  CHECK(server.settled_stats().at("rate_limited") >= 28);
}

TEST_CASE("rooms do not hear each other", "[integration][relay]") {
  server_process server;
  auto a1 = join_member(server.tcp_port(), server.udp_port(), operation::create_room, "one", "a1");
  auto a2 = join_member(server.tcp_port(), server.udp_port(), operation::join_room, "one", "a2");
  auto b1 = join_member(server.tcp_port(), server.udp_port(), operation::create_room, "two", "b1");
  auto b2 = join_member(server.tcp_port(), server.udp_port(), operation::join_room, "two", "b2");
  REQUIRE(a1.udp->receive_message());  // a2 joined
  REQUIRE(b1.udp->receive_message());  // b2 joined
  a1.say("room one only");
  CHECK(a2.udp->receive_message()->second == "room one only");
  CHECK(b1.udp->silent(200ms));
  CHECK(b2.udp->silent(50ms));
  // A token from room one is not valid in room two.
  a2.udp->send("two", a2.token, "sneaking in");
  CHECK(b1.udp->silent(200ms));
  CHECK(server.settled_stats().at("bad_token") == 1);
}

TEST_CASE("a room that grows past the scanned size and shrinks back keeps finding every member",
          "[integration][relay]") {
  // Rooms of up to 16 find a member by scanning its ids; larger ones also hash them, and drop the
  // hash at 8 (libchat/token_index.hpp). Both ways, over real sockets, every member is still found.
  server_process server({"--join-rate", "0"});
  std::vector<member> members;
  for (int i = 0; i < 20; ++i) {
    members.push_back(join_member(server.tcp_port(), server.udp_port(),
                                  i == 0 ? operation::create_room : operation::join_room, "big",
                                  "m" + std::to_string(i)));
  }
  const auto drain = [](member& m) {
    while (m.udp->receive(100ms)) {
    }
  };
  const auto everyone_hears = [&](std::size_t from) {
    members[from].say("from " + std::to_string(from));
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i == from) continue;
      auto got = members[i].udp->receive_message();
      REQUIRE(got);
      CHECK(got->second == "from " + std::to_string(from));
    }
  };
  for (auto& m : members) drain(m);
  everyone_hears(19);  // 20 members: hashed
  everyone_hears(3);
  // 14 guests leave (never the host, m0): 6 are left, scanned again.
  for (int i = 0; i < 14; ++i) {
    members.back().say(libchat::encode_control(libchat::control_type::leave));
    members.pop_back();
  }
  for (auto& m : members) drain(m);
  everyone_hears(5);
  everyone_hears(0);
  check_accounting(server);
}
