// The per-address admission policy on a fake clock: handshakes and their rate, reservations,
// wrong-password windows, and the table's bound.
#include "libchat/address_limits.hpp"

#include "support/fake_clock.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <string>

using namespace libchat;
using verdict = address_limits::verdict;

namespace {
ip_address v4(std::uint8_t last) { return ip_address::from_v4({10, 0, 0, last}); }
}  // namespace

TEST_CASE("handshakes in progress per address are capped, and end_handshake frees a place", "[address_limits]") {
  chat_test::fake_clock clock;
  address_limits limits({.handshakes = 2, .handshake_rate = {100, 100}});
  CHECK(limits.begin_handshake(v4(1), clock.now) == verdict::ok);
  CHECK(limits.begin_handshake(v4(1), clock.now) == verdict::ok);
  CHECK(limits.begin_handshake(v4(1), clock.now) == verdict::too_many);
  CHECK(limits.begin_handshake(v4(2), clock.now) == verdict::ok);  // another address is not affected
  limits.end_handshake(v4(1), clock.now);
  CHECK(limits.begin_handshake(v4(1), clock.now) == verdict::ok);
}

TEST_CASE("new handshakes per address follow a token bucket", "[address_limits]") {
  chat_test::fake_clock clock;
  address_limits limits({.handshakes = 100, .handshake_rate = {2, 3}});
  int ok = 0;
  for (int i = 0; i < 10; ++i) {
    if (limits.begin_handshake(v4(1), clock.now) == verdict::ok) {
      ++ok;
      limits.end_handshake(v4(1), clock.now);
    }
  }
  CHECK(ok == 3);  // the burst
  CHECK(limits.begin_handshake(v4(1), clock.now) == verdict::too_fast);
  clock.advance(std::chrono::milliseconds(500));
  CHECK(limits.begin_handshake(v4(1), clock.now) == verdict::ok);  // one more after half a second
}

TEST_CASE("rooms, tokens and hashes are reserved up to their caps and given back", "[address_limits]") {
  chat_test::fake_clock clock;
  address_limits limits({.rooms = 2, .tokens = 3});
  CHECK(limits.reserve(address_resource::room, v4(1), clock.now));
  CHECK(limits.reserve(address_resource::room, v4(1), clock.now));
  CHECK_FALSE(limits.reserve(address_resource::room, v4(1), clock.now));
  for (int i = 0; i < 3; ++i) CHECK(limits.reserve(address_resource::token, v4(1), clock.now));
  CHECK_FALSE(limits.reserve(address_resource::token, v4(1), clock.now));
  CHECK(limits.reserve(address_resource::hash, v4(1), clock.now));
  CHECK_FALSE(limits.reserve(address_resource::hash, v4(1), clock.now));  // one hash in flight
  limits.release(address_resource::room, v4(1), clock.now);
  CHECK(limits.reserve(address_resource::room, v4(1), clock.now));
  limits.release(address_resource::hash, v4(1), clock.now);
  CHECK(limits.reserve(address_resource::hash, v4(1), clock.now));
}

TEST_CASE("an address holding nothing is forgotten; a release of nothing is harmless", "[address_limits]") {
  chat_test::fake_clock clock;
  address_limits limits({});
  limits.release(address_resource::token, v4(1), clock.now);
  CHECK(limits.tracked() == 0);
  REQUIRE(limits.reserve(address_resource::token, v4(1), clock.now));
  CHECK(limits.tracked() == 1);
  limits.release(address_resource::token, v4(1), clock.now);
  CHECK(limits.tracked() == 0);
}

TEST_CASE("the table is bounded: past its cap, the longest-idle client is forgotten first", "[address_limits]") {
  chat_test::fake_clock clock;
  address_limits limits({.handshakes = 8, .handshake_rate = {1, 2}, .tracked = 2});
  CHECK(limits.begin_handshake(v4(1), clock.now) == verdict::ok);
  CHECK(limits.begin_handshake(v4(2), clock.now) == verdict::ok);
  // Both hold a handshake: nothing can be forgotten, so a third client waits.
  CHECK(limits.begin_handshake(v4(3), clock.now) == verdict::table_full);
  CHECK(limits.reserve(address_resource::token, v4(3), clock.now) == false);
  limits.end_handshake(v4(1), clock.now);
  limits.end_handshake(v4(2), clock.now);
  // Neither rate has recovered, but they hold nothing: the one idle longest (1) makes room.
  CHECK(limits.begin_handshake(v4(3), clock.now) == verdict::ok);
  CHECK(limits.tracked() == 2);
  // 2 kept its rate: its burst is down to one.
  CHECK(limits.begin_handshake(v4(2), clock.now) == verdict::ok);
  limits.end_handshake(v4(2), clock.now);
  CHECK(limits.begin_handshake(v4(2), clock.now) == verdict::too_fast);
}

TEST_CASE("filling the table with idle clients never locks a new one out", "[address_limits]") {
  chat_test::fake_clock clock;
  address_limits limits({.handshake_rate = {1, 1}, .tracked = 1000});
  // An attacker's 100,000 addresses, each one handshake and gone: every rate is spent.
  for (std::uint32_t i = 0; i < 100'000; ++i) {
    const ip_address a = ip_address::from_v4(
        {11, static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)});
    REQUIRE(limits.begin_handshake(a, clock.now) == verdict::ok);
    limits.end_handshake(a, clock.now);
  }
  CHECK(limits.tracked() == 1000);
  CHECK(limits.begin_handshake(v4(1), clock.now) == verdict::ok);  // the legitimate client
  // Once their rates recover they go without waiting for the cap.
  clock.advance(std::chrono::seconds(2));
  limits.end_handshake(v4(1), clock.now);
  CHECK(limits.begin_handshake(v4(2), clock.now) == verdict::ok);
  CHECK(limits.tracked() == 1);
}

TEST_CASE("IPv6 clients are counted by prefix, IPv4 clients by address", "[address_limits][ipv6]") {
  const auto v6 = [](std::uint8_t b7, std::uint8_t last) {
    std::array<std::uint8_t, 16> b{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, b7, 0, 0, 0, 0, 0, 0, 0x12, last};
    return ip_address::from_v6(b);
  };
  CHECK(counted_client(v6(1, 1), 64) == counted_client(v6(1, 2), 64));
  CHECK(counted_client(v6(1, 1), 64) != counted_client(v6(2, 1), 64));
  CHECK(counted_client(v6(1, 1), 128) != counted_client(v6(1, 2), 128));
  CHECK(counted_client(v6(0x80, 1), 57) == counted_client(v6(0xff, 9), 57));  // a prefix inside a byte
  CHECK(counted_client(v6(0x80, 1), 57) != counted_client(v6(0x7f, 9), 57));
  CHECK(counted_client(v4(1), 64) == v4(1));  // IPv4-mapped: never cut
  CHECK(counted_client(v4(1), 1) != counted_client(v4(2), 1));

  chat_test::fake_clock clock;
  address_limits limits(
      {.handshakes = 2, .handshake_rate = {100, 100}, .rooms = 1, .tokens = 2, .password_failures = 1});
  // One /64 is one client for every limit: a host cannot escape them by changing its address.
  CHECK(limits.begin_handshake(v6(1, 1), clock.now) == verdict::ok);
  CHECK(limits.begin_handshake(v6(1, 2), clock.now) == verdict::ok);
  CHECK(limits.begin_handshake(v6(1, 3), clock.now) == verdict::too_many);
  CHECK(limits.begin_handshake(v6(2, 3), clock.now) == verdict::ok);  // another /64
  CHECK(limits.reserve(address_resource::room, v6(1, 4), clock.now));
  CHECK_FALSE(limits.reserve(address_resource::room, v6(1, 5), clock.now));
  limits.password_failed(v6(1, 6), "den", clock.now);
  CHECK(limits.may_try_password(v6(1, 7), "den", clock.now) == password_budget::client_spent);
  CHECK(limits.may_try_password(v6(2, 7), "den", clock.now) == password_budget::open);
  // Releases find the same client whichever address of the prefix gives them back.
  limits.release(address_resource::room, v6(1, 9), clock.now);
  CHECK(limits.reserve(address_resource::room, v6(1, 10), clock.now));
}

TEST_CASE("wrong passwords are counted per address and room, and recover over the window", "[address_limits]") {
  chat_test::fake_clock clock;
  address_limits limits({.password_failures = 3, .password_window = std::chrono::seconds(300)});
  for (int i = 0; i < 3; ++i) {
    CHECK(limits.may_try_password(v4(1), "den", clock.now) == password_budget::open);
    limits.password_failed(v4(1), "den", clock.now);
  }
  CHECK(limits.may_try_password(v4(1), "den", clock.now) == password_budget::client_spent);
  CHECK(limits.may_try_password(v4(1), "other", clock.now) == password_budget::open);  // another room
  CHECK(limits.may_try_password(v4(2), "den", clock.now) == password_budget::open);    // another address
  clock.advance(std::chrono::seconds(100));                   // 3 per 300 s: one try back
  CHECK(limits.may_try_password(v4(1), "den", clock.now) == password_budget::open);
  CHECK(limits.password_entries() == 1);
}

TEST_CASE("a room's wrong passwords from every address share one budget", "[address_limits]") {
  chat_test::fake_clock clock;
  address_limits limits(
      {.password_failures = 5, .room_password_failures = 10, .room_password_window = std::chrono::seconds(60)});
  // Ten guessers, one guess each: no address is near its own budget...
  for (std::uint8_t i = 1; i <= 10; ++i) {
    REQUIRE(limits.may_try_password(v4(i), "vault", clock.now) == password_budget::open);
    limits.password_failed(v4(i), "vault", clock.now);
  }
  // ...but the room's is spent, for everyone, and only for this room.
  CHECK(limits.may_try_password(v4(11), "vault", clock.now) == password_budget::room_spent);
  CHECK(limits.may_try_password(v4(1), "vault", clock.now) == password_budget::room_spent);
  CHECK(limits.may_try_password(v4(11), "den", clock.now) == password_budget::open);
  clock.advance(std::chrono::seconds(6));  // 10 per 60 s: one try back
  CHECK(limits.may_try_password(v4(11), "vault", clock.now) == password_budget::open);

  address_limits unlimited({.room_password_failures = 0});
  for (std::uint8_t i = 1; i <= 100; ++i) unlimited.password_failed(v4(i), "vault", clock.now);
  CHECK(unlimited.may_try_password(v4(101), "vault", clock.now) == password_budget::open);
  CHECK(unlimited.room_password_entries() == 0);
}

TEST_CASE("the wrong-password tables stay bounded, oldest forgotten first", "[address_limits]") {
  chat_test::fake_clock clock;
  address_limits limits({.password_failures = 1, .room_password_failures = 1000, .tracked = 100});
  // 10,000 clients fail once each against their own room: each entry stays spent for 300 s.
  for (std::uint32_t i = 0; i < 10'000; ++i) {
    const ip_address a = ip_address::from_v4({11, 0, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)});
    limits.password_failed(a, "room" + std::to_string(i), clock.now);
  }
  CHECK(limits.password_entries() == 100);
  CHECK(limits.room_password_entries() == 100);
  // The newest are remembered, the oldest forgotten.
  const ip_address newest = ip_address::from_v4({11, 0, 9999 >> 8, 9999 & 0xff});
  const ip_address oldest = ip_address::from_v4({11, 0, 0, 0});
  CHECK(limits.may_try_password(newest, "room9999", clock.now) == password_budget::client_spent);
  CHECK(limits.may_try_password(oldest, "room0", clock.now) == password_budget::open);
}

TEST_CASE("password hashes per address follow a token bucket on top of one in flight", "[address_limits]") {
  using grant = hash_grant::verdict;
  chat_test::fake_clock clock;
  address_limits limits({.hash_rate = {0.5, 3}});
  auto first = limits.reserve_hash(v4(1), "r", clock.now);
  CHECK(first.what == grant::granted);
  CHECK(first.budget_left == Approx(2.0 / 3));
  // One in flight: refused without spending the budget.
  CHECK(limits.reserve_hash(v4(1), "r", clock.now).what == grant::in_flight);
  limits.release(address_resource::hash, v4(1), clock.now);
  CHECK(limits.reserve_hash(v4(1), "r", clock.now).budget_left == Approx(1.0 / 3));
  limits.release(address_resource::hash, v4(1), clock.now);
  CHECK(limits.reserve_hash(v4(1), "r", clock.now).budget_left == Approx(0));
  limits.release(address_resource::hash, v4(1), clock.now);
  CHECK(limits.reserve_hash(v4(1), "r", clock.now).what == grant::too_fast);
  CHECK(limits.reserve_hash(v4(2), "r", clock.now).what == grant::granted);  // another address is not affected
  clock.advance(std::chrono::seconds(2));                                    // one hash back
  CHECK(limits.reserve_hash(v4(1), "r", clock.now).what == grant::granted);
  limits.release(address_resource::hash, v4(1), clock.now);
  CHECK(limits.reserve_hash(v4(1), "r", clock.now).what == grant::too_fast);
}

TEST_CASE("an address that holds nothing is remembered until its hash budget has recovered", "[address_limits]") {
  chat_test::fake_clock clock;
  address_limits limits({.hash_rate = {1, 2}});
  REQUIRE(limits.reserve_hash(v4(1), "r", clock.now).granted());
  limits.release(address_resource::hash, v4(1), clock.now);
  CHECK(limits.tracked() == 1);  // forgetting it now would hand it a fresh budget
  clock.advance(std::chrono::seconds(2));
  REQUIRE(limits.reserve_hash(v4(2), "r", clock.now).granted());
  CHECK(limits.tracked() == 1);
}

TEST_CASE("a hash for a room that has had many ranks below one for a quiet room", "[address_limits]") {
  chat_test::fake_clock clock;
  address_limits limits({.hash_rate = {0.5, 10}, .room_hash_rate = {1, 4}});
  // Four addresses, one hash each for "den": the room's budget is spent, theirs is not.
  for (std::uint8_t a = 1; a <= 4; ++a) {
    REQUIRE(limits.reserve_hash(v4(a), "den", clock.now).granted());
    limits.release(address_resource::hash, v4(a), clock.now);
  }
  const auto busy_room = limits.reserve_hash(v4(5), "den", clock.now);
  const auto quiet_room = limits.reserve_hash(v4(6), "lounge", clock.now);
  REQUIRE(busy_room.granted());  // ordered behind, never refused
  CHECK(busy_room.budget_left == Approx(0));
  CHECK(quiet_room.budget_left == Approx(0.75));  // the room's 3 of 4 left; the address's 9 of 10
}
