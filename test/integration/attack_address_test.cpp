// Attacks on the per-address limits (issue 10, item 2): an IPv6 host that walks through its /64,
// and password guesses spread over many addresses. Over real sockets against the real server;
// the IPv6 addresses live in a network namespace of the test's own (private_network.hpp).
#include "attack_support.hpp"
#include "private_network.hpp"
#include "server_process.hpp"
#include "wire_client.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace chat_test;
using attack_support::report;
using libchat::operation;
using libchat::tcrp_error;

namespace {

// fd00:0:0:1::1 … fd00:0:0:1::<n>: n hosts of one /64; fd00:0:0:2::1: a host of another.
std::string same_64(int host) {
  return "fd00:0:0:1::" + std::to_string(host);
}
const std::string other_64 = "fd00:0:0:2::1";

void enter_two_networks(int hosts) {
  std::vector<std::pair<std::string, unsigned>> addresses;
  for (int h = 1; h <= hosts; ++h) addresses.emplace_back(same_64(h), 64);
  addresses.emplace_back(other_64, 64);
  enter_private_network(addresses);
}

struct tally {
  int ok = 0, rate_limited = 0, bad_password = 0, other = 0;
  void count(const handshake_result& r) {
    if (r.completion) {
      ++ok;
    } else if (r.error && r.error->error == tcrp_error::rate_limited) {
      ++rate_limited;
    } else if (r.error && r.error->error == tcrp_error::bad_password) {
      ++bad_password;
    } else {
      ++other;
    }
  }
};

}  // namespace

TEST_CASE("attack: an IPv6 host cannot escape the per-address limits by walking its /64",
          "[integration][attack][ipv6]") {
  constexpr int hosts = 20;
  enter_two_networks(hosts);

  SECTION("rooms per address") {
    server_process server({"--bind", "::", "--max-rooms-per-ip", "3"});
    tally walk;
    for (int h = 1; h <= hosts; ++h)
      walk.count(handshake(server.tcp_port(), operation::create_room, "r" + std::to_string(h), "eve", std::nullopt,
                           same_64(h)));
    const auto elsewhere =
        handshake(server.tcp_port(), operation::create_room, "theirs", "bob", std::nullopt, other_64);
    report(
        "attack: one /64, %d addresses, --max-rooms-per-ip 3: %d rooms created, %d rate_limited, %d other; "
        "another /64: %s",
        hosts, walk.ok, walk.rate_limited, walk.other, elsewhere.completion ? "created" : "REFUSED");
    CHECK(walk.ok == 3);
    CHECK(walk.rate_limited == hosts - 3);
    CHECK(server.wait_for_log("rate_limited rooms_per_ip"));
    CHECK(elsewhere.completion);
  }
  SECTION("wrong passwords per address") {
    server_process server({"--bind", "::", "--password-cost", "8", "--password-failures", "3"});
    REQUIRE(handshake(server.tcp_port(), operation::create_room, "vault", "alice", "s3cret", other_64).completion);
    tally guesses;
    for (int h = 1; h <= hosts; ++h)
      guesses.count(handshake(server.tcp_port(), operation::join_room, "vault", "eve" + std::to_string(h),
                              "guess" + std::to_string(h), same_64(h)));
    report(
        "attack: one /64, %d addresses, one guess each, --password-failures 3: %d hashed (bad_password), %d "
        "refused without hashing, %d other",
        hosts, guesses.bad_password, guesses.rate_limited, guesses.other);
    CHECK(guesses.bad_password == 3);
    CHECK(guesses.rate_limited == hosts - 3);
    CHECK(server.wait_for_log("rate_limited password_failures"));
  }
  SECTION("--ipv6-prefix 128 counts every address on its own") {
    server_process server({"--bind", "::", "--max-rooms-per-ip", "3", "--ipv6-prefix", "128"});
    tally walk;
    for (int h = 1; h <= hosts; ++h)
      walk.count(handshake(server.tcp_port(), operation::create_room, "r" + std::to_string(h), "eve", std::nullopt,
                           same_64(h)));
    CHECK(walk.ok == hosts);
  }
}

TEST_CASE("attack: wrong passwords spread over many addresses stop at the room's budget",
          "[integration][attack][password]") {
  server_process server({"--password-cost", "8", "--password-failures", "5", "--room-password-failures", "10",
                         "--room-password-window", "300"});
  REQUIRE(handshake(server.tcp_port(), operation::create_room, "vault", "alice", "s3cret").completion);
  REQUIRE(handshake(server.tcp_port(), operation::create_room, "den", "carol", "other").completion);
  // 40 addresses of 127.0.1.0/24, one guess each: none is near its own budget of 5.
  tally guesses;
  for (int a = 1; a <= 40; ++a)
    guesses.count(handshake(server.tcp_port(), operation::join_room, "vault", "eve" + std::to_string(a),
                            "guess" + std::to_string(a), "127.0.1." + std::to_string(a)));
  const auto right_password = handshake(server.tcp_port(), operation::join_room, "vault", "bob", "s3cret", "127.0.2.1");
  const auto other_room = handshake(server.tcp_port(), operation::join_room, "den", "dave", "other", "127.0.2.2");
  report(
      "attack: 40 addresses, one wrong password each, --room-password-failures 10: %d hashed (bad_password), %d "
      "refused without hashing, %d other; then the right password: %s; another room: %s",
      guesses.bad_password, guesses.rate_limited, guesses.other, right_password.completion ? "joined" : "refused",
      other_room.completion ? "joined" : "REFUSED");
  CHECK(guesses.bad_password == 10);
  CHECK(guesses.rate_limited == 30);
  CHECK(server.wait_for_log("rate_limited room_password_failures"));
  // The room's door stays shut for everyone until its budget recovers: the price of stopping a
  // distributed guesser. Other rooms are not affected.
  REQUIRE(right_password.error);
  CHECK(right_password.error->error == tcrp_error::rate_limited);
  CHECK(other_room.completion);
}
