// The members notice over real sockets against the real server: who a joining member is told is
// in the room, split over datagrams for a room of long names, sealed on encrypted sessions, and
// asked for again with the members control message.
#include "server_process.hpp"
#include "wire_client.hpp"

#include "libchat/control.hpp"
#include "libchat/limits.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <thread>

using namespace chat_test;
using libchat::operation;

namespace {

std::multiset<std::string> as_set(const std::vector<std::string>& names) {
  return {names.begin(), names.end()};
}

}  // namespace

TEST_CASE("a joining member is told every member, the host marked; the others only that it joined",
          "[integration][members]") {
  server_process server;
  member alice = join_member(server.tcp_port(), server.udp_port(), operation::create_room, "lobby", "alice");
  member bob = join_member(server.tcp_port(), server.udp_port(), operation::join_room, "lobby", "bob");
  member carol = join_member(server.tcp_port(), server.udp_port(), operation::join_room, "lobby", "carol");

  CHECK(alice.members.users == std::vector<std::string>{"alice"});
  CHECK(as_set(bob.members.users) == std::multiset<std::string>{"alice", "bob"});
  CHECK(as_set(carol.members.users) == std::multiset<std::string>{"alice", "bob", "carol"});
  for (const auto* m : {&alice, &bob, &carol}) {
    CHECK(m->members.host == "alice");
    CHECK(m->members.parts == 1);
  }
  // The others get joined notices and nothing more.
  CHECK(alice.udp->receive_message()->second == R"({"event":"joined","user":"bob"})");
  CHECK(alice.udp->receive_message()->second == R"({"event":"joined","user":"carol"})");
  CHECK(bob.udp->receive_message()->second == R"({"event":"joined","user":"carol"})");
  CHECK(alice.udp->silent());
  CHECK(bob.udp->silent());

  // Asked again a second later, the server sends it once more; at once again, it does not.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const std::string request = libchat::encode_control(libchat::control_type::members);
  carol.say(request);
  const auto again = receive_members([&carol] { return carol.udp->receive_message(); });
  CHECK(as_set(again.users) == std::multiset<std::string>{"alice", "bob", "carol"});
  carol.say(request);
  CHECK(carol.udp->silent());
  CHECK(alice.udp->silent());

  auto s = server.settled_stats();
  CHECK(s.at("received") == s.at("relayed") + s.at("keepalive") + s.at("control") + s.at("dropped"));
  CHECK(s.at("control") == 1);
  CHECK(s.at("rate_limited") == 1);
}

TEST_CASE("a room of long names is listed over several datagrams, each within 4094 bytes", "[integration][members]") {
  server_process server(
      {"--join-rate", "1000", "--join-burst", "1000", "--handshake-rate", "1000", "--handshake-burst", "1000"});
  std::vector<member> members;
  std::multiset<std::string> names;
  for (int i = 0; i < 60; ++i) {
    std::string name = "member-" + std::to_string(i) + "-";
    name.resize(libchat::max_name_bytes, static_cast<char>('a' + i % 26));
    names.insert(name);
    members.push_back(join_member(server.tcp_port(), server.udp_port(),
                                  i == 0 ? operation::create_room : operation::join_room, "long names", name));
  }
  const members_list& last = members.back().members;
  CHECK(last.parts >= 4);  // 60 × 258 bytes
  CHECK(last.parts == last.part_sizes.size());
  for (std::size_t size : last.part_sizes) CHECK(size <= libchat::max_server_datagram);
  CHECK(as_set(last.users) == names);
  CHECK(last.host.starts_with("member-0-"));
}

TEST_CASE("on an encrypted session the members notice is sealed like every other", "[integration][members]") {
  server_process server({}, true);
  auto alice = join_secure(server.tcp_port(), server.udp_port(), operation::create_room, "vault", "alice");
  REQUIRE(alice.member);
  auto bob = join_secure(server.tcp_port(), server.udp_port(), operation::join_room, "vault", "bob");
  REQUIRE(bob.member);
  CHECK(alice.member->members.users == std::vector<std::string>{"alice"});
  CHECK(as_set(bob.member->members.users) == std::multiset<std::string>{"alice", "bob"});
  CHECK(bob.member->members.host == "alice");
}
