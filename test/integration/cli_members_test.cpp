// chat-client's member list and its kept transcript, driven for real: the terminal view through
// tmux, --json through pipes, against the real chat-server.
#include "client_process.hpp"
#include "server_process.hpp"
#include "wire_client.hpp"

#include "libchat/control.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>

using namespace chat_test;

TEST_CASE("the terminal client says who is in the room on joining, and /who follows joins and leaves",
          "[integration][cli]") {
  REQUIRE(have_tmux());
  server_process server;
  tmux_client alice(client_args(server, {"--create", "lobby", "--name", "alice"}));
  REQUIRE(alice.wait_for("in the room (1): alice (host) (you)"));
  tmux_client bob(client_args(server, {"--join", "lobby", "--name", "bob"}));
  CHECK(bob.wait_for("in the room (2): alice (host), bob (you)"));
  REQUIRE(alice.wait_for("bob joined"));

  auto carol = join_secure(server.tcp_port(), server.udp_port(), libchat::operation::join_room, "lobby", "carol");
  REQUIRE(carol.member);
  REQUIRE(bob.wait_for("carol joined"));
  bob.type("/who");
  bob.press("Enter");
  CHECK(bob.wait_for("in the room (3): alice (host), bob (you), carol"));

  carol.member->say(libchat::encode_control(libchat::control_type::leave));
  REQUIRE(bob.wait_for("carol left"));
  bob.type("/who");
  bob.press("Enter");
  CHECK(bob.wait_for("in the room (2): alice (host), bob (you)\n"));

  bob.type("/help");
  bob.press("Enter");
  CHECK(bob.wait_for("/who      list who is in the room"));
}

TEST_CASE("when the host leaves, the conversation stays on the normal screen with the reason", "[integration][cli]") {
  REQUIRE(have_tmux());
  server_process server;
  tmux_client alice(client_args(server, {"--create", "lobby", "--name", "alice"}));
  REQUIRE(alice.wait_for("you are in lobby as alice"));
  tmux_client bob(client_args(server, {"--join", "lobby", "--name", "bob"}));
  REQUIRE(bob.wait_for("you are in lobby as bob"));
  REQUIRE(alice.wait_for("bob joined"));

  alice.type("remember the milk");
  alice.press("Enter");
  REQUIRE(bob.wait_for("alice: remember the milk"));
  bob.type("will do");
  bob.press("Enter");
  REQUIRE(alice.wait_for("bob: will do"));

  alice.type("/quit");
  alice.press("Enter");
  REQUIRE(bob.wait_for("EXIT=4"));
  // The full-screen view is gone (its status line with it), and what was said is still there.
  const std::string after = bob.screen();
  CHECK(after.find("alice: remember the milk") != std::string::npos);
  CHECK(after.find("bob: will do") != std::string::npos);
  CHECK(after.find("the room was closed: the host left") != std::string::npos);
  CHECK(after.find("lobby | bob (member)") == std::string::npos);
  // Someone who left on purpose gets the terminal back as it was.
  REQUIRE(alice.wait_for("EXIT=0"));
  CHECK(alice.screen().find("remember the milk") == std::string::npos);
}

TEST_CASE("when the server shuts down, the conversation stays too", "[integration][cli]") {
  REQUIRE(have_tmux());
  server_process server;
  tmux_client alice(client_args(server, {"--create", "lobby", "--name", "alice"}));
  REQUIRE(alice.wait_for("you are in lobby as alice"));
  alice.type("last words");
  alice.press("Enter");
  REQUIRE(alice.wait_for("alice: last words"));
  server.signal(SIGTERM);
  REQUIRE(alice.wait_for("EXIT=4"));
  const std::string after = alice.screen();
  CHECK(after.find("alice: last words") != std::string::npos);
  CHECK(after.find("the server is shutting down") != std::string::npos);
}

TEST_CASE("json mode passes the members notice through as a notice event", "[integration][cli]") {
  server_process server;
  json_client host(client_args(server, {"--create", "pipes", "--name", "host"}));
  REQUIRE(host.wait_for(R"("type":"connected")"));
  auto own = host.wait_for(R"("event":"members")");
  REQUIRE(own);
  CHECK(own->find(R"("users":["host"])") != std::string::npos);
  json_client guest(client_args(server, {"--join", "pipes", "--name", "guest"}));
  auto list = guest.wait_for(R"("event":"members")");
  REQUIRE(list);
  CHECK(list->find(R"("host":"host")") != std::string::npos);
  CHECK(list->find(R"("part":1,"parts":1)") != std::string::npos);
  CHECK((list->find(R"("users":["host","guest"])") != std::string::npos ||
         list->find(R"("users":["guest","host"])") != std::string::npos));
}
