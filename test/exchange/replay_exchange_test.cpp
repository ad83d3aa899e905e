// Replayed and mistimed sealed requests through libchat::server_exchange (docs/protocol.md §12.3):
// each is refused at state 1 before the room is looked up or anything is hashed, with one sealed
// answer that the replayer cannot read and whose size does not depend on the room or the password.
#include "libchat/server_exchange.hpp"

#include "exchange/server_world.hpp"
#include "libchat/client_exchange.hpp"
#include "libchat/handshake.hpp"
#include "libchat/secure_handshake.hpp"
#include "support/frames.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <variant>

using namespace chat_test;
using namespace std::chrono_literals;
using libchat::frame_state;
using libchat::refusal;
using outcome_kind = libchat::exchange_outcome::kind;

namespace {

constexpr std::uint8_t create_op = 1, join_op = 2;
const byte_vector client_e(32, 0x41);  // a fixed ephemeral: the same request can be sealed twice

// A sealed request frame, as a client with ephemeral `e` seals it at `sent_at`.
byte_vector sealed(const server_world& w, std::uint8_t op, std::string_view room, const std::string& user,
                   std::optional<std::string> password, std::optional<libchat::wall_time> sent_at,
                   const byte_vector& e = client_e) {
  libchat::client_handshake c(w.key.public_half(), op, room, libchat::byte_view(e));
  return tcrp_frame(op, 0, room, c.seal_request({user, std::move(password), sent_at}).value());
}

// What the holder of ephemeral `e` reads in a refusal at state 1 (`request` is what it sent).
libchat::error_response opened_refusal(const server_world& w, const transcript& t, std::uint8_t op,
                                       std::string_view room, const libchat::room_request& request,
                                       const byte_vector& e = client_e) {
  libchat::client_handshake c(w.key.public_half(), op, room, libchat::byte_view(e));
  (void)c.seal_request(request).value();
  REQUIRE(t.frames.size() == 1);
  auto reply = c.open_response(t.frames[0].payload);
  REQUIRE(reply.has_value());
  REQUIRE(std::holds_alternative<libchat::error_response>(*reply));
  return std::get<libchat::error_response>(*reply);
}

void check_refused_at_once(const transcript& t, refusal why) {
  // No find_room, no hash, no verify, no admit: read, one sealed answer, close.
  CHECK(t.step_line() == "read write-last close");
  CHECK(t.outcome.what == outcome_kind::refused);
  CHECK(t.outcome.why == why);
  CHECK(t.outcome.encrypted);
  REQUIRE(t.frames.size() == 1);
  CHECK(t.frames[0].state == frame_state::response);
  // Sealed: the refusal's JSON is not on the wire.
  CHECK(t.frames[0].payload.find("bad_request") == std::string::npos);
  CHECK(libchat::is_sealed_request(t.frames[0].payload));
}

}  // namespace

TEST_CASE("a replayed sealed join is refused before the password is checked; the member keeps the name",
          "[exchange][replay]") {
  server_world w;
  w.config.allow_plaintext = false;
  w.add_room("vault", "pw", /*encrypted=*/true);
  const auto join = sealed(w, join_op, "vault", "bob", "pw", w.wall_now);

  const auto first = w.run(join);
  CHECK(first.step_line() == "read find_room write check verify admit write-last close");
  CHECK(first.outcome.what == outcome_kind::joined);
  CHECK(w.rooms["vault"]->member_count() == 2);
  const auto tracked = w.ledger.limits.tracked();

  // The same bytes again, ten seconds later (from anywhere: the address plays no part).
  w.wall_now += 10s;
  w.client = libchat::ip_address::from_v4({10, 0, 0, 99});
  const auto again = w.run(join);
  check_refused_at_once(again, refusal::replayed);
  CHECK(w.rooms["vault"]->member_count() == 2);
  CHECK(w.ledger.limits.tracked() == tracked);  // nothing reserved, no failure counted
  // Only the holder of the ephemeral reads why.
  const auto why = opened_refusal(w, again, join_op, "vault", {"bob", std::string("pw"), w.wall_now - 10s});
  CHECK(why.error == libchat::tcrp_error::bad_request);
  CHECK(why.message == "This encrypted request was used before, so it was not run again; connect afresh.");
}

TEST_CASE("a replayed sealed create does not re-create the room once it closed", "[exchange][replay]") {
  server_world w;
  w.config.allow_plaintext = false;
  const auto create = sealed(w, create_op, "den", "alice", "secret", w.wall_now);
  REQUIRE(w.run(create).outcome.what == outcome_kind::created);
  w.rooms.clear();  // the host left: the room is gone
  w.wall_now += 30s;
  const auto again = w.run(create);
  check_refused_at_once(again, refusal::replayed);
  CHECK(w.rooms.empty());
}

TEST_CASE("the answer to a replay is the same whatever the room, the name or the password", "[exchange][replay]") {
  // What an eavesdropper sees of a replay's answer: one sealed state-1 frame, of one size.
  server_world w;
  w.config.allow_plaintext = false;
  w.add_room("vault", "pw", true);
  std::set<std::size_t> sizes;
  std::uint8_t n = 0;
  for (const auto* password : {"pw", "wrong"}) {
    for (const auto* room : {"vault", "nowhere"}) {
      const byte_vector e(32, static_cast<std::uint8_t>(0x50 + n++));
      const auto join = sealed(w, join_op, room, "carol", std::string(password), w.wall_now, e);
      (void)w.run(join);
      const auto again = w.run(join);
      check_refused_at_once(again, refusal::replayed);
      sizes.insert(again.frames[0].payload.size());
    }
  }
  CHECK(sizes.size() == 1);
}

TEST_CASE("a sealed request outside the window is refused with how far off the clock is", "[exchange][replay]") {
  server_world w;
  w.config.allow_plaintext = false;
  SECTION("61 s behind") {
    const auto t = w.run(sealed(w, create_op, "den", "alice", std::nullopt, w.wall_now - 61s));
    check_refused_at_once(t, refusal::clock_skew);
    const auto why = opened_refusal(w, t, create_op, "den", {"alice", std::nullopt, w.wall_now - 61s});
    CHECK(why.error == libchat::tcrp_error::bad_request);
    CHECK(why.message ==
          "Your clock is 61 s behind the server's, which takes requests sealed at most 60 s either way; set your "
          "clock right and try again.");
  }
  SECTION("an hour ahead") {
    const auto t = w.run(sealed(w, create_op, "den", "alice", "pw", w.wall_now + 3600s));
    check_refused_at_once(t, refusal::clock_skew);
    const auto why = opened_refusal(w, t, create_op, "den", {"alice", std::string("pw"), w.wall_now + 3600s});
    CHECK(why.message.rfind("Your clock is 3600 s ahead of the server's", 0) == 0);
  }
  SECTION("60 s either way is taken") {
    CHECK(w.run(sealed(w, create_op, "a", "alice", std::nullopt, w.wall_now - 60s, byte_vector(32, 1))).outcome.what ==
          outcome_kind::created);
    CHECK(w.run(sealed(w, create_op, "b", "alice", std::nullopt, w.wall_now + 60s, byte_vector(32, 2))).outcome.what ==
          outcome_kind::created);
  }
  SECTION("untimed (an older client)") {
    const auto t = w.run(sealed(w, create_op, "den", "alice", "pw", std::nullopt));
    check_refused_at_once(t, refusal::untimed);
  }
  CHECK(w.rooms.count("den") == 0);
}

TEST_CASE("a full replay cache refuses what it could no longer tell from a replay, as server_busy",
          "[exchange][replay]") {
  server_world w;
  w.config.allow_plaintext = false;
  w.replays = libchat::replay_cache({.skew = 60s, .capacity = 1});
  REQUIRE(w.run(sealed(w, create_op, "a", "alice", std::nullopt, w.wall_now, byte_vector(32, 1))).outcome.what ==
          outcome_kind::created);
  const auto t = w.run(sealed(w, create_op, "b", "alice", std::nullopt, w.wall_now, byte_vector(32, 2)));
  check_refused_at_once(t, refusal::replays_crowded);
  CHECK(libchat::refusal_error(refusal::replays_crowded) == libchat::tcrp_error::server_busy);
  // A second later, the newer request pushes the older out.
  w.wall_now += 1s;
  CHECK(w.run(sealed(w, create_op, "b", "alice", std::nullopt, w.wall_now, byte_vector(32, 3))).outcome.what ==
        outcome_kind::created);
}

TEST_CASE("a plaintext request needs no time", "[exchange][replay]") {
  server_world w;
  const auto t = w.run(tcrp_frame(create_op, 0, "den", libchat::encode_room_request({"alice", std::nullopt})));
  CHECK(t.outcome.what == outcome_kind::created);
  CHECK(w.replays.size() == 0);
}

TEST_CASE("the client machine seals its time, and shows the server's sentence when its clock is off",
          "[exchange][replay]") {
  server_world w;
  w.config.allow_plaintext = false;
  libchat::client_exchange_config config;
  config.op = libchat::operation::create_room;
  config.room = "den";
  config.request = {"alice", std::nullopt};
  config.server_key = w.key.public_half();
  config.server_name = "memory";
  config.now = w.wall_now - 75s;
  libchat::client_exchange client(config);
  auto a = client.start();
  REQUIRE(a.what == libchat::client_action::kind::write);
  const auto t = w.run(byte_vector(a.bytes.begin(), a.bytes.end()));
  check_refused_at_once(t, refusal::clock_skew);
  a = client.on_written();
  const auto reply = tcrp_frame(t.frames[0].operation, 1, t.frames[0].room, t.frames[0].payload);
  std::size_t fed = 0;
  while (a.what == libchat::client_action::kind::read) {
    if (fed == reply.size()) {
      a = client.on_closed();
      continue;
    }
    const std::size_t n = std::min(a.buffer.size(), reply.size() - fed);
    std::copy_n(reply.begin() + static_cast<std::ptrdiff_t>(fed), n, a.buffer.begin());
    fed += n;
    a = client.on_read(n);
  }
  REQUIRE(client.failure());
  CHECK(client.failure()->code() == "bad_request");
  CHECK_FALSE(client.failure()->unauthenticated);
  CHECK(client.failure()->message.rfind("Your clock is 75 s behind the server's", 0) == 0);
}
