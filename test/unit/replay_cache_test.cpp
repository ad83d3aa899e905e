// libchat::replay_cache on a fake wall clock: the window's edges either way, replays inside it,
// expiry, and the cap (oldest out first, and what was forgotten early stays refused).
#include "libchat/replay_cache.hpp"

#include "libchat/handshake.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>

using libchat::freshness;
using libchat::wall_time;
using namespace std::chrono_literals;

namespace {

const wall_time t0{std::chrono::seconds(1'767'225'600)};

// Distinct keys, as distinct ephemerals would be (the first 8 bytes vary, like a real key's).
libchat::public_key key(std::uint32_t n) {
  libchat::public_key k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>((n >> (8 * (i % 4))) ^ (i * 37));
  return k;
}

}  // namespace

TEST_CASE("replay cache: the window's edges, either way", "[unit][replay]") {
  libchat::replay_cache cache({.skew = 60s, .capacity = 100});
  CHECK(cache.first_sight(key(1), t0 - 60s, t0) == freshness::fresh);
  CHECK(cache.first_sight(key(2), t0 - 61s, t0) == freshness::too_old);
  CHECK(cache.first_sight(key(3), t0 + 60s, t0) == freshness::fresh);
  CHECK(cache.first_sight(key(4), t0 + 61s, t0) == freshness::too_new);
  CHECK(cache.first_sight(key(5), t0, t0) == freshness::fresh);
  // Refused requests are not remembered: the same key, on time, is taken.
  CHECK(cache.first_sight(key(2), t0, t0) == freshness::fresh);
  CHECK(cache.size() == 4);
}

TEST_CASE("replay cache: an ephemeral seen within the window is refused, whatever time it carries", "[unit][replay]") {
  libchat::replay_cache cache({.skew = 60s, .capacity = 100});
  REQUIRE(cache.first_sight(key(1), t0, t0) == freshness::fresh);
  CHECK(cache.first_sight(key(1), t0, t0) == freshness::replayed);
  CHECK(cache.first_sight(key(1), t0, t0 + 59s) == freshness::replayed);
  CHECK(cache.first_sight(key(1), t0 + 30s, t0 + 30s) == freshness::replayed);
  // From another clock (a server whose clock stepped back): still refused.
  CHECK(cache.first_sight(key(1), t0, t0 - 30s) == freshness::replayed);
  // Once its time has left the window the time check refuses it, and the cache may forget it.
  CHECK(cache.first_sight(key(1), t0, t0 + 61s) == freshness::too_old);
  CHECK(cache.first_sight(key(2), t0 + 62s, t0 + 62s) == freshness::fresh);
  CHECK(cache.size() == 1);
}

TEST_CASE("replay cache: a request sealed ahead of the server's clock is kept until its own time leaves",
          "[unit][replay]") {
  libchat::replay_cache cache({.skew = 60s, .capacity = 100});
  REQUIRE(cache.first_sight(key(1), t0 + 60s, t0) == freshness::fresh);
  // Two minutes later by the server's clock it is still inside the window: still remembered.
  CHECK(cache.first_sight(key(1), t0 + 60s, t0 + 120s) == freshness::replayed);
  CHECK(cache.first_sight(key(1), t0 + 60s, t0 + 121s) == freshness::too_old);
}

TEST_CASE("replay cache: full, the oldest goes first and nothing sealed before it is taken", "[unit][replay]") {
  libchat::replay_cache cache({.skew = 60s, .capacity = 3});
  REQUIRE(cache.first_sight(key(1), t0 - 10s, t0) == freshness::fresh);
  REQUIRE(cache.first_sight(key(2), t0 - 5s, t0) == freshness::fresh);
  REQUIRE(cache.first_sight(key(3), t0, t0) == freshness::fresh);
  CHECK(cache.size() == 3);
  // A fourth: key 1 is forgotten before its time left the window.
  CHECK(cache.first_sight(key(4), t0 + 1s, t0 + 1s) == freshness::fresh);
  CHECK(cache.size() == 3);
  CHECK(cache.evicted_early() == 1);
  // Its replay is refused all the same: it was sealed at or before the newest time forgotten.
  CHECK(cache.first_sight(key(1), t0 - 10s, t0 + 2s) == freshness::crowded);
  CHECK(cache.first_sight(key(9), t0 - 10s, t0 + 2s) == freshness::crowded);
  // Later requests still pass, and those remembered are still replays.
  CHECK(cache.first_sight(key(2), t0 - 5s, t0 + 2s) == freshness::replayed);
  CHECK(cache.first_sight(key(5), t0 + 2s, t0 + 2s) == freshness::fresh);
  CHECK(cache.evicted_early() == 2);
  CHECK(cache.first_sight(key(2), t0 - 5s, t0 + 3s) == freshness::crowded);
}

TEST_CASE("replay cache: a newcomer sealed no later than what it pushes out is refused", "[unit][replay]") {
  libchat::replay_cache cache({.skew = 60s, .capacity = 1});
  REQUIRE(cache.first_sight(key(1), t0 + 30s, t0) == freshness::fresh);
  // Taking key 2 would forget key 1 (sealed at t0 + 30 s), and then nothing sealed up to then could
  // pass: key 2 is refused, and key 1 stays remembered.
  CHECK(cache.first_sight(key(2), t0, t0) == freshness::crowded);
  CHECK(cache.first_sight(key(1), t0 + 30s, t0) == freshness::replayed);
  CHECK(cache.evicted_early() == 0);
  CHECK(cache.first_sight(key(3), t0 + 31s, t0 + 1s) == freshness::fresh);
  CHECK(cache.first_sight(key(1), t0 + 30s, t0 + 1s) == freshness::crowded);
}

TEST_CASE("replay cache: at its cap under a steady load, every entry leaves by age and the size stays bounded",
          "[unit][replay]") {
  libchat::replay_cache cache({.skew = 60s, .capacity = 1000});
  // Five requests a second for ten minutes, on time: 605 entries at most are ever needed.
  std::uint32_t n = 0;
  for (int second = 0; second < 600; ++second) {
    for (int i = 0; i < 5; ++i) {
      const wall_time now = t0 + std::chrono::seconds(second);
      REQUIRE(cache.first_sight(key(++n), now, now) == freshness::fresh);
    }
    CHECK(cache.size() <= 5 * 62);
  }
  CHECK(cache.evicted_early() == 0);
  // Over the cap: the cache stays at it, and replays of what it forgot are refused.
  for (int i = 0; i < 5000; ++i) {
    const wall_time now = t0 + 600s;
    REQUIRE(cache.first_sight(key(++n), now, now) != freshness::replayed);
    REQUIRE(cache.size() <= 1000);
  }
  CHECK(cache.first_sight(key(n - 4000), t0 + 600s, t0 + 600s) != freshness::fresh);
}

TEST_CASE("replay cache: a clock that steps back does not bring back what was forgotten", "[unit][replay]") {
  libchat::replay_cache cache({.skew = 60s, .capacity = 100});
  REQUIRE(cache.first_sight(key(1), t0, t0) == freshness::fresh);
  // Forgotten at t0 + 61 s (its time left the window) ...
  REQUIRE(cache.first_sight(key(2), t0 + 61s, t0 + 61s) == freshness::fresh);
  CHECK(cache.size() == 1);
  // ... then the server's clock steps back by a minute: key 1 would pass the time check again.
  CHECK(cache.first_sight(key(1), t0, t0 + 1s) == freshness::crowded);
  CHECK(cache.first_sight(key(3), t0 + 2s, t0 + 2s) == freshness::fresh);
}

TEST_CASE("a request's time: whole seconds from 0 to 9999-12-31, written after the password", "[unit][replay]") {
  using libchat::parse_room_request;
  const auto r = parse_room_request(R"({"username":"alice","time":1767225600})");
  REQUIRE(r.has_value());
  CHECK(r->sent_at == t0);
  CHECK(libchat::encode_room_request({"alice", std::string("pw"), t0}) ==
        R"({"username":"alice","password":"pw","time":1767225600})");
  CHECK_FALSE(parse_room_request(R"({"username":"alice"})")->sent_at);
  CHECK(parse_room_request(R"({"username":"alice","time":253402300799})").has_value());
  for (const auto* bad : {R"({"username":"alice","time":"1767225600"})", R"({"username":"alice","time":1.5})",
                          R"({"username":"alice","time":-1})", R"({"username":"alice","time":253402300800})",
                          R"({"username":"alice","time":null})"}) {
    INFO(bad);
    CHECK(parse_room_request(bad).error() == libchat::errc::wrong_field_type);
  }
}
