// Members and rooms coming and going: leave, host leave, inactivity, unreachable addresses,
// shutdown, and the lobby.
#include "server_process.hpp"
#include "wire_client.hpp"

#include "libchat/control.hpp"

#include <catch2/catch.hpp>

#include <csignal>

using namespace chat_test;
using libchat::operation;

namespace {
const std::string leave = libchat::encode_control(libchat::control_type::leave);

member create(server_process& s, const std::string& room, const std::string& name) {
  return join_member(s.tcp_port(), s.udp_port(), operation::create_room, room, name);
}
member join(server_process& s, const std::string& room, const std::string& name) {
  return join_member(s.tcp_port(), s.udp_port(), operation::join_room, room, name);
}
}  // namespace

TEST_CASE("a member who leaves is announced and loses its token", "[integration][lifecycle]") {
  server_process server;
  auto alice = create(server, "lobby", "alice");
  auto bob = join(server, "lobby", "bob");
  REQUIRE(alice.udp->receive_message()->second == R"({"event":"joined","user":"bob"})");

  bob.say(leave);
  CHECK(alice.udp->receive_message()->second == R"({"event":"left","user":"bob","reason":"leave"})");
  bob.say("am I still here?");
  CHECK(alice.udp->silent());
  CHECK(server.settled_stats().at("bad_token") == 1);
  // The name is free again.
  CHECK(handshake(server.tcp_port(), operation::join_room, "lobby", "bob").completion);
}

TEST_CASE("when the host leaves, the room closes for everyone and its name is free", "[integration][lifecycle]") {
  server_process server;
  auto alice = create(server, "lobby", "alice");
  auto bob = join(server, "lobby", "bob");
  auto carol = join(server, "lobby", "carol");
  REQUIRE(alice.udp->receive_message());
  REQUIRE(alice.udp->receive_message());
  REQUIRE(bob.udp->receive_message());

  alice.say(leave);
  CHECK(bob.udp->receive_message()->second == R"({"event":"room_closed","reason":"host_left"})");
  CHECK(carol.udp->receive_message()->second == R"({"event":"room_closed","reason":"host_left"})");
  CHECK(alice.udp->silent(100ms));

  // Old tokens are gone, and a new room of the same name never hears them.
  auto dave = create(server, "lobby", "dave");
  bob.say("anyone?");
  CHECK(dave.udp->silent());
  CHECK(server.wait_for_log("room 'lobby' closed (host_left)"));
}

TEST_CASE("a silent member times out; a member who keeps alive stays", "[integration][lifecycle]") {
  server_process server({"--inactivity-timeout", "0.6"});
  auto alice = create(server, "lobby", "alice");
  auto bob = join(server, "lobby", "bob");
  REQUIRE(alice.udp->receive_message());

  // alice sends keepalives; bob stays silent.
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1200);
  std::optional<std::pair<std::string, std::string>> left;
  while (std::chrono::steady_clock::now() < until && !left) {
    alice.say("");
    while (auto got = alice.udp->receive_message(100ms)) {
      if (got->second.find("\"left\"") != std::string::npos) left = got;
    }
  }
  REQUIRE(left);
  CHECK(left->second == R"({"event":"left","user":"bob","reason":"timeout"})");
  auto told = bob.udp->receive_message();
  REQUIRE(told);
  CHECK(told->second == R"({"event":"timeout"})");
}

TEST_CASE("a host who never sends a datagram loses the room after the token lifetime", "[integration][lifecycle]") {
  server_process server({"--token-ttl", "0.3"});
  REQUIRE(handshake(server.tcp_port(), operation::create_room, "squat", "alice").completion);
  CHECK(server.wait_for_log("room 'squat' closed (host_never_joined)", std::chrono::seconds(3)));
  CHECK(handshake(server.tcp_port(), operation::create_room, "squat", "bob").completion);
}

TEST_CASE("a member whose address is unreachable is removed", "[integration][lifecycle]") {
  // A short grace: in production the streak must outlast a live client's keepalive interval.
  server_process server({"--unreachable-limit", "3", "--unreachable-grace", "0.3"});
  auto alice = create(server, "lobby", "alice");
  auto bob = join(server, "lobby", "bob");
  REQUIRE(alice.udp->receive_message());
  bob.udp->close();  // bob's port now answers with ICMP port unreachable

  // Up to 10 s: the kernel sends at most ~1000 ICMP errors a second for the whole host (the
  // icmp_msgs_per_sec budget), so tests running beside this one can delay bob's reports.
  std::optional<std::pair<std::string, std::string>> left;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until && !left) {
    alice.say("are you there, bob?");
    while (auto got = alice.udp->receive_message(100ms)) {
      if (got->second.find("\"left\"") != std::string::npos) left = got;
    }
  }
  INFO("icmp_errors counted by the server: " << server.settled_stats().at("icmp_errors"));
  INFO("server log:\n" << server.log());
  REQUIRE(left);
  CHECK(left->second == R"({"event":"left","user":"bob","reason":"unreachable"})");
  CHECK(server.settled_stats().at("icmp_errors") >= 3);
}

TEST_CASE("SIGTERM tells every member and exits 0", "[integration][lifecycle]") {
  server_process server;
  auto alice = create(server, "one", "alice");
  auto bob = join(server, "one", "bob");
  auto carol = create(server, "two", "carol");
  REQUIRE(alice.udp->receive_message());

  server.signal(SIGTERM);
  for (auto* m : {&alice, &bob, &carol}) {
    auto got = m->udp->receive_message();
    REQUIRE(got);
    CHECK(got->second == R"({"event":"server_shutdown"})");
  }
  CHECK(server.wait_exit(std::chrono::seconds(3)) == 0);
}

TEST_CASE("SIGINT stops the server cleanly too", "[integration][lifecycle]") {
  server_process server;
  server.signal(SIGINT);
  CHECK(server.wait_exit(std::chrono::seconds(3)) == 0);
}

TEST_CASE("the lobby relays between addresses without tokens", "[integration][lobby]") {
  server_process server({"--lobby-port", "0", "--lobby-max-members", "2"});
  REQUIRE(server.lobby_port());
  udp_peer ann(*server.lobby_port()), ben(*server.lobby_port()), cat(*server.lobby_port());
  auto lobby_datagram = [](const std::string& name, const std::string& text) {
    std::vector<std::uint8_t> d{static_cast<std::uint8_t>(name.size())};
    d.insert(d.end(), name.begin(), name.end());
    d.insert(d.end(), text.begin(), text.end());
    return d;
  };
  ann.send_raw(lobby_datagram("ann", ""));  // keepalive: ann is now in the lobby
  CHECK(ann.silent(100ms));
  ben.send_raw(lobby_datagram("ben", "hi all"));
  auto got = ann.receive_message();
  REQUIRE(got);
  CHECK(got->first == "ben");
  CHECK(got->second == "hi all");
  CHECK(ben.silent());

  // Malformed: an empty name would look like a server notice.
  ben.send_raw(lobby_datagram("", "sneaky notice"));
  CHECK(ann.silent());
  // Full: a third address is not added.
  cat.send_raw(lobby_datagram("cat", "me too"));
  CHECK(ann.silent());
  ann.send_raw(lobby_datagram("ann", "still two of us"));
  CHECK(ben.receive_message()->second == "still two of us");
  CHECK(cat.silent(50ms));

  server.signal(SIGTERM);
  CHECK(ann.receive_message()->second == R"({"event":"server_shutdown"})");
}

TEST_CASE("a lone member who goes silent times out after the inactivity timeout, not the token's", "[integration][lifecycle]") {
  // The first datagram moves a member's deadline from the token lifetime (30 s) to the inactivity
  // timeout, which may be much shorter: the room's timer must follow.
  server_process server({"--inactivity-timeout", "0.5"});
  auto alice = create(server, "alone", "alice");
  auto told = alice.udp->receive_message(std::chrono::seconds(3));
  REQUIRE(told);
  CHECK(told->second == R"({"event":"timeout"})");
}
