// libchat::client_session on a fake clock: the keepalive rule (docs/protocol.md §7.5) as a
// timeline, and what each kind of datagram becomes.
#include "libchat/client_session.hpp"

#include "libchat/control.hpp"
#include "libchat/datagram.hpp"
#include "libchat/secure_handshake.hpp"
#include "support/fake_clock.hpp"
#include "support/frames.hpp"

#include <catch2/catch.hpp>

using namespace chat_test;
using kind = libchat::session_event::kind;
using namespace std::chrono_literals;

namespace {

byte_vector pong() { return notice_datagram(libchat::encode_notice({libchat::notice_event::pong, "pong", {}, {}, {}})); }

libchat::client_session plain_session(libchat::client_session_config config = {}) {
  return libchat::client_session(config, "lobby", "tok", nullptr);
}

// Runs the timer until it says something other than send_keepalive, counting the keepalives.
std::pair<kind, int> run_until_verdict(libchat::client_session& s, fake_clock& clock) {
  int keepalives = 0;
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(s.next_deadline());
    clock.now = *s.next_deadline();
    auto e = s.on_timer(clock.now);
    if (e.what != kind::send_keepalive) return {e.what, keepalives};
    ++keepalives;
  }
  FAIL("no verdict");
  return {};
}

}  // namespace

TEST_CASE("a client that never gets a pong gives up after 5 keepalives a second apart", "[exchange][session]") {
  fake_clock clock;
  auto s = plain_session();
  const auto begin = clock.now;
  CHECK(s.start(clock.now).what == kind::send_keepalive);
  CHECK(*s.next_deadline() == begin + 1s);
  CHECK(s.on_timer(begin + 500ms).what == kind::none);  // not due yet
  const auto [verdict, more] = run_until_verdict(s, clock);
  CHECK(verdict == kind::never_bound);
  CHECK(more == 4);  // 5 in all with the first
  CHECK(clock.now == begin + 5s);
  CHECK_FALSE(s.next_deadline());
  CHECK_FALSE(s.bound());
}

TEST_CASE("the first pong binds; then a keepalive every 15 s, and 3 unanswered mean the server is gone",
          "[exchange][session]") {
  fake_clock clock;
  auto s = plain_session();
  s.start(clock.now);
  clock.advance(30ms);
  CHECK(s.on_datagram(pong(), clock.now).what == kind::bound);
  CHECK(s.bound());
  CHECK(*s.next_deadline() == clock.now + 15s);
  CHECK(s.on_datagram(pong(), clock.now).what == kind::none);  // a later pong says nothing new
  const auto bound_at = clock.now;
  const auto [verdict, keepalives] = run_until_verdict(s, clock);
  CHECK(verdict == kind::silent);
  CHECK(keepalives == 3);
  CHECK(clock.now == bound_at + 60s);
}

TEST_CASE("each pong starts the count again", "[exchange][session]") {
  fake_clock clock;
  auto s = plain_session({.keepalive_interval = 10s});
  s.start(clock.now);
  s.on_datagram(pong(), clock.now);
  for (int round = 0; round < 10; ++round) {
    clock.now = *s.next_deadline();
    REQUIRE(s.on_timer(clock.now).what == kind::send_keepalive);
    clock.now = *s.next_deadline();
    REQUIRE(s.on_timer(clock.now).what == kind::send_keepalive);
    s.on_datagram(pong(), clock.now);  // two unanswered, then an answer: never silent
  }
  CHECK(s.next_deadline());
}

TEST_CASE("datagrams become messages, notices or counted drops", "[exchange][session]") {
  fake_clock clock;
  auto s = plain_session();
  s.start(clock.now);
  const auto bytes = server_datagram_bytes("alice", "hi there");  // the event's views point into it
  auto message = s.on_datagram(bytes, clock.now);
  CHECK(message.what == kind::message);
  CHECK(message.sender == "alice");
  CHECK(message.text == "hi there");
  auto joined = s.on_datagram(notice_datagram(R"({"event":"joined","user":"bob"})"), clock.now);
  CHECK(joined.what == kind::notice);
  CHECK(joined.received.event == libchat::notice_event::joined);
  CHECK(joined.received.user == "bob");
  CHECK(s.on_datagram(byte_vector{5, 'a'}, clock.now).what == kind::dropped);  // lying length
  CHECK(s.on_datagram(server_datagram_bytes("alice", "\xff"), clock.now).what == kind::dropped);
  CHECK(s.on_datagram(notice_datagram("{not json"), clock.now).what == kind::dropped);
  CHECK(s.dropped() == 3);
  // The end of the session stops the keepalives.
  auto closed = s.on_datagram(notice_datagram(R"({"event":"room_closed","reason":"host_left"})"), clock.now);
  CHECK(closed.received.event == libchat::notice_event::room_closed);
  CHECK_FALSE(s.next_deadline());
}

TEST_CASE("plaintext datagrams carry the token; text fits both directions", "[exchange][session]") {
  auto s = plain_session();
  auto d = s.seal(libchat::as_bytes("hello"));
  REQUIRE(d.has_value());
  CHECK(byte_vector(d->begin(), d->end()) == client_datagram_bytes("lobby", "tok", "hello"));
  CHECK(s.keepalive_datagram().has_value());
  CHECK(s.max_text("alice") == 4096 - 2 - 5 - 3);  // our datagram is the tighter bound here
}

TEST_CASE("an encrypted session seals what it sends and drops what does not open", "[exchange][session]") {
  fake_clock clock;
  auto key = libchat::server_key::generate();
  libchat::client_handshake client(key.public_half(), 1, "lobby");
  libchat::server_handshake server(key, 1, "lobby");
  REQUIRE(server.open_request(client.seal_request({"alice", std::nullopt}).value()).has_value());
  REQUIRE(client.open_response(server.seal_response(libchat::encode_accepted({"ok"}))).has_value());
  libchat::client_session s({}, "lobby", "", client.channel(7));
  auto server_channel = server.channel(7);
  CHECK(s.encrypted());
  s.start(clock.now);

  auto d = s.keepalive_datagram();
  REQUIRE(d.has_value());
  auto decoded = libchat::decode_client_datagram(*d);
  REQUIRE(decoded.has_value());
  std::array<std::uint8_t, 4096> opened{};
  CHECK(server_channel->open_client_message(decoded->header, decoded->message, opened).has_value());

  std::array<std::uint8_t, 4096> sealed{};
  const auto p = pong();
  auto n = server_channel->seal_server_datagram(p, sealed);
  REQUIRE(n.has_value());
  const byte_vector wire(sealed.begin(), sealed.begin() + static_cast<std::ptrdiff_t>(*n));
  CHECK(s.on_datagram(wire, clock.now).what == kind::bound);
  CHECK(s.on_datagram(wire, clock.now).what == kind::dropped);  // the same datagram again: a replay
  CHECK(s.on_datagram(p, clock.now).what == kind::dropped);     // plaintext is never accepted
  CHECK(s.max_text("alice") < libchat::max_text_bytes(5));
}
