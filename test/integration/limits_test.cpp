// Limits per client address and per room, against the real server.
#include "server_process.hpp"
#include "wire_client.hpp"

#include "libchat/control.hpp"

#include <catch2/catch.hpp>

using namespace chat_test;
using libchat::operation;
using libchat::tcrp_error;

TEST_CASE("handshakes from one address faster than the limit are told rate_limited", "[integration][limits]") {
  server_process server({"--handshake-rate", "1", "--handshake-burst", "5"});
  int created = 0, limited = 0;
  for (int i = 0; i < 12; ++i) {
    auto r = handshake(server.tcp_port(), operation::create_room, "room" + std::to_string(i), "alice");
    if (r.completion) ++created;
    if (r.error && r.error->error == tcrp_error::rate_limited) ++limited;
  }
  CHECK(created >= 5);
  CHECK(created <= 7);  // the burst, and what the rate refilled meanwhile
  CHECK(created + limited == 12);
  // Another address is not affected.
  CHECK(handshake(server.tcp_port(), operation::create_room, "elsewhere", "bob", std::nullopt, "127.0.0.2").completion);
}

TEST_CASE("an address may host only so many rooms at once", "[integration][limits]") {
  server_process server({"--max-rooms-per-ip", "2"});
  CHECK(handshake(server.tcp_port(), operation::create_room, "one", "alice").completion);
  auto two = join_member(server.tcp_port(), server.udp_port(), operation::create_room, "two", "alice");
  auto third = handshake(server.tcp_port(), operation::create_room, "three", "alice");
  REQUIRE(third.error);
  CHECK(third.error->error == tcrp_error::rate_limited);
  CHECK(libchat::http_status(third.error->error) == 429);
  // When a room closes, its host's address may open another.
  two.say(libchat::encode_control(libchat::control_type::leave));
  CHECK(server.wait_for_log("room 'two' closed"));
  CHECK(handshake(server.tcp_port(), operation::create_room, "three", "alice").completion);
}

TEST_CASE("an address may hold only so many tokens at once", "[integration][limits]") {
  server_process server({"--max-tokens-per-ip", "3"});
  REQUIRE(handshake(server.tcp_port(), operation::create_room, "room", "host", std::nullopt, "127.0.0.2").completion);
  for (const char* name : {"a", "b", "c"}) CHECK(handshake(server.tcp_port(), operation::join_room, "room", name).completion);
  auto fourth = handshake(server.tcp_port(), operation::join_room, "room", "d");
  REQUIRE(fourth.error);
  CHECK(fourth.error->error == tcrp_error::rate_limited);
}

TEST_CASE("a room takes joins at a bounded rate", "[integration][limits]") {
  server_process server({"--join-rate", "1", "--join-burst", "3"});
  REQUIRE(handshake(server.tcp_port(), operation::create_room, "busy", "host").completion);  // 1 of 3
  CHECK(handshake(server.tcp_port(), operation::join_room, "busy", "a").completion);
  CHECK(handshake(server.tcp_port(), operation::join_room, "busy", "b").completion);
  auto r = handshake(server.tcp_port(), operation::join_room, "busy", "c");
  REQUIRE(r.error);
  CHECK(r.error->error == tcrp_error::rate_limited);
}

TEST_CASE("password guessing is cut off without hashing", "[integration][limits][password]") {
  server_process server({"--password-cost", "8", "--password-failures", "3", "--password-window", "300"});
  REQUIRE(handshake(server.tcp_port(), operation::create_room, "den", "alice", "s3cret").completion);
  for (int i = 0; i < 3; ++i) {
    auto r = handshake(server.tcp_port(), operation::join_room, "den", "eve", "guess" + std::to_string(i));
    REQUIRE(r.error);
    CHECK(r.error->error == tcrp_error::bad_password);
  }
  // Locked out now, even with the right password, and no hash is computed for the attempt.
  auto locked = handshake(server.tcp_port(), operation::join_room, "den", "eve", "s3cret");
  REQUIRE(locked.error);
  CHECK(locked.error->error == tcrp_error::rate_limited);
  CHECK(server.wait_for_log("rate_limited password_failures"));
  // Another address still gets in.
  CHECK(handshake(server.tcp_port(), operation::join_room, "den", "bob", "s3cret", "127.0.0.3").completion);
}
