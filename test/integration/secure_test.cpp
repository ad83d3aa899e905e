// Encrypted sessions against the real server: the handshake, sealed chat, pinning material, and
// what an eavesdropper on the loopback interface sees.
#include "server_process.hpp"
#include "wire_capture.hpp"
#include "wire_client.hpp"

#include "libchat/control.hpp"

#include <catch2/catch.hpp>

#include <thread>
#include <utility>

#include <stdlib.h>
#include <unistd.h>

using namespace chat_test;
using libchat::operation;
using libchat::tcrp_error;

namespace {

// alice creates "vault", bob joins it, and alice has been told: the start of most tests here.
struct vault_pair {
  secure_result alice, bob;
};
vault_pair open_vault(const server_process& server) {
  vault_pair p{join_secure(server.tcp_port(), server.udp_port(), operation::create_room, "vault", "alice"),
               join_secure(server.tcp_port(), server.udp_port(), operation::join_room, "vault", "bob")};
  REQUIRE(p.alice.member);
  REQUIRE(p.bob.member);
  CHECK(p.alice.member->receive_message()->second == R"({"event":"joined","user":"bob"})");
  return p;
}

}  // namespace

TEST_CASE("by default the server refuses unencrypted handshakes", "[integration][secure]") {
  server_process server({}, /*encrypted_only=*/true);
  CHECK(server.wait_for_log("accepting encrypted handshakes only"));
  auto r = handshake(server.tcp_port(), operation::create_room, "lobby", "alice");
  REQUIRE(r.error);
  CHECK(r.error->error == tcrp_error::encryption_required);
  CHECK(libchat::http_status(r.error->error) == 426);
}

TEST_CASE("allow-plaintext in a config file means what its value says", "[integration][secure][config]") {
  for (const auto& [value, allowed] : {std::pair{"false", false}, {"no", false}, {"true", true}, {"1", true}}) {
    INFO("allow-plaintext = " << value);
    char path[] = "/tmp/chat-config-XXXXXX";
    const int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    const std::string text = std::string("allow-plaintext = ") + value + "\n";
    REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ::close(fd);
    {
      server_process server({"--config", path}, /*encrypted_only=*/true);
      auto r = handshake(server.tcp_port(), operation::create_room, "lobby", "alice");
      CHECK(static_cast<bool>(r.completion) == allowed);
      if (!allowed) {
        REQUIRE(r.error);
        CHECK(r.error->error == tcrp_error::encryption_required);
      }
    }
    ::unlink(path);
  }
}

TEST_CASE("operation 3 returns the key whose fingerprint the server printed", "[integration][secure]") {
  server_process server({}, true);
  const auto key = fetch_server_key(server.tcp_port());
  CHECK(server.log().find("server key " + libchat::key_fingerprint(key)) != std::string::npos);
  // The same key after a restart with the same key file: pinning survives restarts.
  const std::string fingerprint = libchat::key_fingerprint(key);
  server_process again({"--key-file", server.key_file()}, true);
  CHECK(libchat::key_fingerprint(fetch_server_key(again.tcp_port())) == fingerprint);
}

TEST_CASE("an encrypted room: create, join, chat both ways, leave, close", "[integration][secure]") {
  server_process server({}, true);
  auto alice = join_secure(server.tcp_port(), server.udp_port(), operation::create_room, "vault", "alice");
  REQUIRE(alice.member);
  CHECK(alice.member->host);
  auto bob = join_secure(server.tcp_port(), server.udp_port(), operation::join_room, "vault", "bob");
  REQUIRE(bob.member);
  auto& a = *alice.member;
  auto& b = *bob.member;
  CHECK(a.receive_message()->second == R"({"event":"joined","user":"bob"})");

  b.say("psst, alice");
  auto got = a.receive_message();
  REQUIRE(got);
  CHECK(got->first == "bob");
  CHECK(got->second == "psst, alice");
  a.say("hi bob 👋");
  CHECK(b.receive_message()->second == "hi bob 👋");
  CHECK(a.udp->silent(100ms));

  a.say(libchat::encode_control(libchat::control_type::leave));
  CHECK(b.receive_message()->second == R"({"event":"room_closed","reason":"host_left"})");
  auto s = server.settled_stats();
  CHECK(s.at("received") == s.at("relayed") + s.at("keepalive") + s.at("control") + s.at("dropped"));
}

TEST_CASE("encrypted and plaintext rooms do not mix", "[integration][secure]") {
  server_process server;  // --allow-plaintext
  REQUIRE(join_secure(server.tcp_port(), server.udp_port(), operation::create_room, "sealed", "alice").member);
  auto plain_join = handshake(server.tcp_port(), operation::join_room, "sealed", "bob");
  REQUIRE(plain_join.error);
  CHECK(plain_join.error->error == tcrp_error::encryption_required);

  REQUIRE(handshake(server.tcp_port(), operation::create_room, "open", "carol").completion);
  auto sealed_join = join_secure(server.tcp_port(), server.udp_port(), operation::join_room, "open", "dave");
  REQUIRE(sealed_join.error);
  CHECK(sealed_join.error->error == tcrp_error::encryption_mismatch);
}

TEST_CASE("passwords over an encrypted handshake", "[integration][secure][password]") {
  server_process server({"--password-cost", "8"}, true);
  REQUIRE(join_secure(server.tcp_port(), server.udp_port(), operation::create_room, "den", "alice", "s3cret").member);
  auto wrong = join_secure(server.tcp_port(), server.udp_port(), operation::join_room, "den", "eve", "guess");
  REQUIRE(wrong.error);
  CHECK(wrong.error->error == tcrp_error::bad_password);
  CHECK(join_secure(server.tcp_port(), server.udp_port(), operation::join_room, "den", "bob", "s3cret").member);
}

TEST_CASE("a request sealed to another key is refused before anything secret is exchanged", "[integration][secure]") {
  server_process server({}, true);
  const auto impostor = libchat::server_key::generate();
  auto r = join_secure(server.tcp_port(), server.udp_port(), operation::create_room, "vault", "alice", "pw",
                       impostor.public_half());
  REQUIRE(r.error);
  CHECK(r.error->error == tcrp_error::bad_request);
  CHECK(server.wait_for_log("bad_handshake"));
}

TEST_CASE("a captured sealed datagram resent is relayed once", "[integration][secure]") {
  server_process server({}, true);
  auto alice = join_secure(server.tcp_port(), server.udp_port(), operation::create_room, "vault", "alice");
  auto bob = join_secure(server.tcp_port(), server.udp_port(), operation::join_room, "vault", "bob");
  REQUIRE(alice.member);
  REQUIRE(bob.member);
  REQUIRE(alice.member->receive_message());  // joined

  std::array<std::uint8_t, libchat::max_client_datagram> out{};
  auto n = bob.member->channel->seal_client_datagram("vault", libchat::as_bytes("transfer 10"), out);
  REQUIRE(n.has_value());
  const std::vector<std::uint8_t> captured(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(*n));
  for (int i = 0; i < 5; ++i) bob.member->udp->send_raw(captured);
  CHECK(alice.member->receive_message()->second == "transfer 10");
  CHECK(alice.member->udp->silent(300ms));
  CHECK(server.settled_stats().at("replay") == 4);
}

TEST_CASE("an eavesdropper on the wire sees no chat text, password or token", "[integration][secure]") {
  wire_capture capture;
  if (!capture.active()) {
    WARN("not capturing: opening an AF_PACKET socket needs root (CAP_NET_RAW); skipped");
    return;
  }
  server_process server({"--password-cost", "8"}, true);
  const std::string password = "correct horse battery staple";
  const std::string secret_text = "the eagle lands at midnight";
  auto alice = join_secure(server.tcp_port(), server.udp_port(), operation::create_room, "vault", "alice-the-host",
                           password);
  auto bob = join_secure(server.tcp_port(), server.udp_port(), operation::join_room, "vault", "bob-the-guest",
                         password);
  REQUIRE(alice.member);
  REQUIRE(bob.member);
  REQUIRE(alice.member->receive_message());
  bob.member->say(secret_text);
  REQUIRE(alice.member->receive_message()->second == secret_text);
  alice.member->say(secret_text + " (ack)");
  REQUIRE(bob.member->receive_message());
  std::this_thread::sleep_for(200ms);  // let the capture thread catch up

  const std::string wire = capture.bytes();
  INFO(capture.packets() << " packets captured");
  CHECK(capture.packets() > 10);
  // The room name routes datagrams, so it is in clear by design: seeing it shows the capture saw
  // this test's traffic, unless a busy loopback made the kernel drop captured packets.
  if (capture.dropped() == 0) {
    CHECK(wire.find("vault") != std::string::npos);
  } else {
    WARN("the capture lost " << capture.dropped() << " packets to a busy loopback");
  }
  CHECK(wire.find(secret_text) == std::string::npos);
  CHECK(wire.find(password) == std::string::npos);
  CHECK(wire.find("bob-the-guest") == std::string::npos);
  CHECK(wire.find("alice-the-host") == std::string::npos);
  // Tokens are unique, so their absence is meaningful even with other tests on loopback.
  CHECK(wire.find(alice.token) == std::string::npos);
  CHECK(wire.find(bob.token) == std::string::npos);
}

// Issue 10, item 7: a NAT that gives an encrypted client a new port (here: the client simply
// talks from a new socket) does not cut it off; its next verified datagram moves it there.
TEST_CASE("an encrypted member whose port changes keeps chatting from the new one", "[integration][secure][roaming]") {
  server_process server({}, true);
  auto vault = open_vault(server);
  auto& a = *vault.alice.member;
  auto& b = *vault.bob.member;

  // The rebinding: the same IP, another port. The old socket stays open, to see what reaches it.
  auto old_socket = std::move(a.udp);
  a.udp = std::make_unique<udp_peer>(server.udp_port());
  REQUIRE(a.udp->local_port() != old_socket->local_port());
  a.say("from my new port");
  auto got = b.receive_message();
  REQUIRE(got);
  CHECK(got->second == "from my new port");
  b.say("heard you");
  auto reply = a.receive_message();
  REQUIRE(reply);
  CHECK(reply->second == "heard you");
  CHECK(old_socket->silent(200ms));
  CHECK(server.wait_for_log("'alice' moved from 127.0.0.1:" + std::to_string(old_socket->local_port())));
  auto s = server.settled_stats();
  CHECK(s["port_mismatch"] == 0);  // the stats line leaves out a reason never counted
  CHECK(s.at("received") == s.at("relayed") + s.at("keepalive") + s.at("control") + s.at("dropped"));
}

TEST_CASE("an encrypted room outlives many key updates: nobody is removed for a spent key",
          "[integration][secure][key_update]") {
  // The smallest interval a server may set: each direction of each session updates its key
  // every 2048 datagrams; the test crosses it two and a half times in every direction.
  server_process server({"--key-datagrams", "2048", "--chat-rate", "100000", "--chat-burst", "100000"}, true);
  auto vault = open_vault(server);
  auto& a = *vault.alice.member;
  auto& b = *vault.bob.member;
  REQUIRE(a.channel->key_datagrams() == 2048);

  // In batches, so that neither socket buffer overflows: keepalives to the server and its pongs
  // back (alice's two directions), then messages from alice to bob (bob's server→client).
  constexpr int total = 5200, batch = 50;
  int pongs = 0, relayed = 0;
  for (int sent = 0; sent < total; sent += batch) {
    for (int i = 0; i < batch; ++i) a.say("");
    for (int i = 0; i < batch; ++i)
      if (auto got = a.receive_message(); got && got->second == R"({"event":"pong"})") ++pongs;
    for (int i = 0; i < batch; ++i) a.say("message " + std::to_string(sent + i));
    for (int i = 0; i < batch; ++i)
      if (auto got = b.receive_message(); got && got->second == "message " + std::to_string(sent + i)) ++relayed;
  }
  CHECK(pongs == total);
  CHECK(relayed == total);
  CHECK(a.channel->send_key_updates() == 5);     // 10,400 datagrams sealed by alice
  CHECK(a.channel->receive_key_updates() == 2);  // 5,200 pongs
  CHECK(b.channel->receive_key_updates() == 2);  // 5,200 messages

  // Both still members, both ways.
  b.say("still here");
  CHECK(a.receive_message()->second == "still here");
  CHECK(a.udp->silent(100ms));
  auto s = server.settled_stats();
  CHECK(s["auth_failed"] == 0);
  CHECK(s["key_limit"] == 0);
  CHECK(s["replay"] == 0);
  CHECK(s.at("received") == s.at("relayed") + s.at("keepalive") + s.at("control") + s.at("dropped"));
}

TEST_CASE("the server takes only a key-update interval that clients can use",
          "[integration][secure][key_update][config]") {
  for (const char* bad : {"1000", "1024", "134217728"}) {
    INFO(bad);
    CHECK_THROWS_WITH(server_process({"--key-datagrams", bad}, true),
                      Catch::Contains("--key-datagrams must be a power of two from 2048 to 67108864"));
  }
}
