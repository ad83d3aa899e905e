// The per-address admission policy on a fake clock: handshakes and their rate, reservations,
// wrong-password windows, and the table's bound.
#include "libchat/address_limits.hpp"

#include "support/fake_clock.hpp"

#include <catch2/catch.hpp>

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

TEST_CASE("the table is bounded: past its cap, idle entries are swept, then new addresses are refused",
          "[address_limits]") {
  chat_test::fake_clock clock;
  address_limits limits({.handshakes = 8, .handshake_rate = {1, 2}, .tracked = 2});
  CHECK(limits.begin_handshake(v4(1), clock.now) == verdict::ok);
  CHECK(limits.begin_handshake(v4(2), clock.now) == verdict::ok);
  CHECK(limits.begin_handshake(v4(3), clock.now) == verdict::table_full);
  CHECK(limits.reserve(address_resource::token, v4(3), clock.now) == false);
  limits.end_handshake(v4(1), clock.now);
  // Its rate has not recovered yet, so the entry is kept...
  CHECK(limits.begin_handshake(v4(3), clock.now) == verdict::table_full);
  // ...until it has.
  clock.advance(std::chrono::seconds(2));
  CHECK(limits.begin_handshake(v4(3), clock.now) == verdict::ok);
  CHECK(limits.tracked() == 2);
}

TEST_CASE("wrong passwords are counted per address and room, and recover over the window", "[address_limits]") {
  chat_test::fake_clock clock;
  address_limits limits({.password_failures = 3, .password_window = std::chrono::seconds(300)});
  for (int i = 0; i < 3; ++i) {
    CHECK(limits.may_try_password(v4(1), "den", clock.now));
    limits.password_failed(v4(1), "den", clock.now);
  }
  CHECK_FALSE(limits.may_try_password(v4(1), "den", clock.now));
  CHECK(limits.may_try_password(v4(1), "other", clock.now));  // another room
  CHECK(limits.may_try_password(v4(2), "den", clock.now));    // another address
  clock.advance(std::chrono::seconds(100));                   // 3 per 300 s: one try back
  CHECK(limits.may_try_password(v4(1), "den", clock.now));
  CHECK(limits.password_entries() == 1);
}
