// chat-client driven for real: its terminal view through tmux, and its --json mode through pipes,
// against the real chat-server.
#include "client_process.hpp"
#include "server_process.hpp"
#include "wire_client.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>

#include <unistd.h>

using namespace chat_test;

namespace {
std::string server_address(const server_process& s) { return "127.0.0.1:" + std::to_string(s.tcp_port()); }

// chat-client's arguments for talking to `s`: it encrypts by default and pins the server's key,
// here in a known-servers file in the server's own temporary directory, never the user's.
std::vector<std::string> client_args(const server_process& s, std::vector<std::string> args) {
  const std::string known = (std::filesystem::path(s.key_file()).parent_path() / "known_servers").string();
  args.insert(args.begin(), {"--server", server_address(s), "--known-servers", known});
  return args;
}
}  // namespace

TEST_CASE("two people chat through the terminal client", "[integration][cli]") {
  REQUIRE(have_tmux());
  server_process server;
  tmux_client alice(client_args(server, {"--create", "lobby", "--name", "alice"}));
  REQUIRE(alice.wait_for("you are in lobby as alice"));
  tmux_client bob(client_args(server, {"--join", "lobby", "--name", "bob"}));
  REQUIRE(bob.wait_for("you are in lobby as bob"));
  CHECK(alice.wait_for("bob joined"));

  bob.type("hello alice, ça va? 👋");
  bob.press("Enter");
  CHECK(alice.wait_for("bob: hello alice, ça va? 👋"));
  CHECK(bob.wait_for("bob: hello alice"));  // own messages are shown too

  // A line half typed stays put while a message arrives.
  alice.type("half a thou");
  // The room is encrypted (chat-client encrypts by default): carol joins encrypted too.
  auto carol = join_secure(server.tcp_port(), server.udp_port(), libchat::operation::join_room, "lobby", "carol");
  REQUIRE(carol.member);
  carol.member->say("interrupting!");
  CHECK(alice.wait_for("carol: interrupting!"));
  CHECK(alice.screen().find("> half a thou") != std::string::npos);
  alice.type("ght");
  alice.press("Enter");
  CHECK(bob.wait_for("alice: half a thought"));

  // The host leaves: bob is told the room closed, and his client ends with exit code 4.
  alice.type("/quit");
  alice.press("Enter");
  CHECK(alice.wait_for("EXIT=0"));
  CHECK(bob.wait_for("the room was closed: the host left"));
  CHECK(bob.wait_for("EXIT=4"));
}

TEST_CASE("the terminal client shows control sequences instead of obeying them", "[integration][cli]") {
  REQUIRE(have_tmux());
  server_process server;
  tmux_client alice(client_args(server, {"--create", "lobby", "--name", "alice"}));
  REQUIRE(alice.wait_for("you are in lobby as alice"));
  auto mallory = join_secure(server.tcp_port(), server.udp_port(), libchat::operation::join_room, "lobby", "mallory");
  REQUIRE(mallory.member);
  REQUIRE(alice.wait_for("mallory joined"));
  mallory.member->say("\x1b[2J\x1b[Hgotcha");
  CHECK(alice.wait_for("mallory: ␛[2J␛[Hgotcha"));
  CHECK(alice.screen().find("you are in lobby as alice") != std::string::npos);  // not cleared
}

TEST_CASE("the terminal client asks for what its flags do not give", "[integration][cli]") {
  REQUIRE(have_tmux());
  server_process server({"--password-cost", "8"});
  tmux_client alice(client_args(server, {}));
  REQUIRE(alice.wait_for("Your name:"));
  alice.type("alice");
  alice.press("Enter");
  REQUIRE(alice.wait_for("Create or join"));
  alice.type("c");
  alice.press("Enter");
  REQUIRE(alice.wait_for("Room:"));
  alice.type("den");
  alice.press("Enter");
  REQUIRE(alice.wait_for("Password"));
  alice.type("s3cret");
  alice.press("Enter");
  REQUIRE(alice.wait_for("you are in den as alice"));
  CHECK(alice.screen().find("s3cret") == std::string::npos);  // never echoed

  // A wrong password is refused with the server's words, and exit code 1.
  char path[] = "/tmp/chat-test-password-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, "guess\n", 6) == 6);
  ::close(fd);
  tmux_client eve(client_args(server, {"--join", "den", "--name", "eve", "--password-file", path}));
  CHECK(eve.wait_for("Wrong password for room 'den'"));
  CHECK(eve.wait_for("EXIT=1"));
  ::unlink(path);
}

TEST_CASE("json mode: one message per line in, one JSON object per event out", "[integration][cli]") {
  server_process server;
  json_client host(client_args(server, {"--create", "pipes", "--name", "host"}));
  auto connected = host.wait_for(R"("type":"connected")");
  REQUIRE(connected);
  CHECK(connected->find(R"("host":true)") != std::string::npos);

  json_client guest(client_args(server, {"--join", "pipes", "--name", "guest"}));
  REQUIRE(guest.wait_for(R"("type":"connected")"));
  CHECK(host.wait_for(R"("event":"joined","user":"guest")"));

  guest.send_line("first line");
  guest.send_line("second line");
  auto first = host.wait_for(R"("type":"message")");
  REQUIRE(first);
  CHECK(first->find(R"("from":"guest","text":"first line")") != std::string::npos);
  auto second = host.wait_for(R"("type":"message")");
  REQUIRE(second);
  CHECK(second->find(R"("text":"second line")") != std::string::npos);

  // EOF on stdin leaves the room.
  guest.close_stdin();
  CHECK(guest.wait_exit() == 0);
  CHECK(host.wait_for(R"("event":"left","user":"guest","reason":"leave")"));

  // A refused handshake is a JSON error and exit code 1.
  json_client clash(client_args(server, {"--create", "pipes", "--name", "other"}));
  auto refused = clash.wait_for(R"("type":"error")");
  REQUIRE(refused);
  CHECK(refused->find(R"("error":"room_exists")") != std::string::npos);
  CHECK(refused->find(R"("status":409)") != std::string::npos);
  CHECK(clash.wait_exit() == 1);

  // The server stopping ends the session with exit code 4.
  server.signal(SIGTERM);
  CHECK(host.wait_for(R"("event":"server_shutdown")"));
  CHECK(host.wait_for(R"("type":"closed")"));
  CHECK(host.wait_exit() == 4);
}
