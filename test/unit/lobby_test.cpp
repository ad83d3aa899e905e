#include "libchat/lobby.hpp"

#include <catch2/catch.hpp>

#include "support/catch_strings.hpp"
#include "support/fake_clock.hpp"
#include "support/frames.hpp"
#include "support/hex.hpp"
#include "support/recording_output.hpp"

#include <string>
#include <vector>

using namespace libchat;
using namespace std::chrono_literals;
using chat_test::byte_vector;
using chat_test::dropped;
using chat_test::from_hex;
using chat_test::outcome_text;
using chat_test::server_datagram_bytes;
using chat_test::v4;

namespace {

const peer_address a_addr = v4(10, 0, 0, 1, 4001);
const peer_address b_addr = v4(10, 0, 0, 2, 4002);
const peer_address c_addr = v4(10, 0, 0, 3, 4003);

using datagrams = std::vector<byte_vector>;

struct lobby_fixture {
  explicit lobby_fixture(lobby_limits limits = {}) : l(limits) {}

  datagram_outcome send(const byte_vector& datagram, const peer_address& from) {
    return l.on_datagram(datagram, from, clock.now, out);
  }

  chat_test::fake_clock clock;
  chat_test::recording_output out;
  lobby l;
};

}  // namespace

TEST_CASE("lobby: a message goes to every other address that has sent, not back to its sender", "[lobby]") {
  lobby_fixture f;
  CHECK(outcome_text(f.send(server_datagram_bytes("alice", "hi"), a_addr)) == "relayed");
  CHECK(f.out.sent.empty());  // nobody else yet
  CHECK(f.l.member_count() == 1);

  CHECK(outcome_text(f.send(server_datagram_bytes("bob", ""), b_addr)) == "keepalive");
  CHECK(outcome_text(f.send(server_datagram_bytes("carol", ""), c_addr)) == "keepalive");
  CHECK(f.out.sent.empty());
  CHECK(f.l.member_count() == 3);

  const byte_vector from_alice = from_hex("05 61 6c 69 63 65 68 65 6c 6c 6f");  // alice, hello
  CHECK(outcome_text(f.send(from_alice, a_addr)) == "relayed");
  CHECK(f.out.sent_to(b_addr) == datagrams{from_alice});
  CHECK(f.out.sent_to(c_addr) == datagrams{from_alice});
  CHECK(f.out.sent_to(a_addr).empty());
  CHECK(f.out.sent.size() == 2);
  CHECK(f.out.events.empty());
}

TEST_CASE("lobby: a keepalive registers the address without relaying anything", "[lobby]") {
  lobby_fixture f;
  CHECK(outcome_text(f.send(server_datagram_bytes("alice", ""), a_addr)) == "keepalive");
  CHECK(outcome_text(f.send(server_datagram_bytes("bob", ""), b_addr)) == "keepalive");
  CHECK(f.out.sent.empty());
  CHECK(f.l.member_count() == 2);
  // The same address again is the same member.
  CHECK(outcome_text(f.send(server_datagram_bytes("alice", ""), a_addr)) == "keepalive");
  CHECK(f.l.member_count() == 2);

  CHECK(outcome_text(f.send(server_datagram_bytes("bob", "now you hear me"), b_addr)) == "relayed");
  CHECK(f.out.sent_to(a_addr) == datagrams{server_datagram_bytes("bob", "now you hear me")});
}

TEST_CASE("lobby: addresses silent for the inactivity timeout expire", "[lobby]") {
  lobby_fixture f({.inactivity_timeout = 60s});
  const auto t0 = f.clock.now;
  CHECK_FALSE(f.l.next_deadline());
  CHECK(outcome_text(f.send(server_datagram_bytes("alice", ""), a_addr)) == "keepalive");
  f.clock.advance(20s);
  CHECK(outcome_text(f.send(server_datagram_bytes("bob", ""), b_addr)) == "keepalive");
  f.clock.advance(20s);
  CHECK(outcome_text(f.send(server_datagram_bytes("carol", ""), c_addr)) == "keepalive");
  CHECK(f.l.next_deadline() == t0 + 60s);

  f.clock.now = t0 + 60s - 1ms;
  f.l.expire(f.clock.now);
  CHECK(f.l.member_count() == 3);

  f.clock.now = t0 + 60s;
  f.l.expire(f.clock.now);
  CHECK(f.l.member_count() == 2);
  CHECK(f.l.next_deadline() == t0 + 80s);

  // alice is gone: carol's message reaches bob only.
  CHECK(outcome_text(f.send(server_datagram_bytes("carol", "hi"), c_addr)) == "relayed");
  CHECK(f.out.sent_to(a_addr).empty());
  CHECK(f.out.sent_to(b_addr) == datagrams{server_datagram_bytes("carol", "hi")});
  CHECK(f.l.member_count() == 2);  // carol, moved into alice's slot, is still known by her address
  CHECK(f.l.next_deadline() == t0 + 80s);

  // Expiring the first member moves the last one into its slot: it must still be found.
  f.clock.now = t0 + 80s;
  f.l.expire(f.clock.now);
  CHECK(f.l.member_count() == 1);
  f.out.clear();
  CHECK(outcome_text(f.send(server_datagram_bytes("carol", ""), c_addr)) == "keepalive");
  CHECK(f.l.member_count() == 1);

  f.clock.advance(1h);
  f.l.expire(f.clock.now);
  CHECK(f.l.member_count() == 0);
  CHECK_FALSE(f.l.next_deadline());
}

TEST_CASE("lobby: a new address past max_members is lobby_full", "[lobby]") {
  lobby_fixture f({.max_members = 2});
  CHECK(outcome_text(f.send(server_datagram_bytes("alice", ""), a_addr)) == "keepalive");
  CHECK(outcome_text(f.send(server_datagram_bytes("bob", ""), b_addr)) == "keepalive");
  CHECK(outcome_text(f.send(server_datagram_bytes("carol", "let me in"), c_addr)) == dropped(errc::lobby_full));
  CHECK(outcome_text(f.send(server_datagram_bytes("carol", ""), c_addr)) == dropped(errc::lobby_full));
  CHECK(f.out.sent.empty());
  CHECK(f.l.member_count() == 2);
  // Members already in still talk.
  CHECK(outcome_text(f.send(server_datagram_bytes("bob", "hi"), b_addr)) == "relayed");
  CHECK(f.out.sent_to(a_addr) == datagrams{server_datagram_bytes("bob", "hi")});
  CHECK(f.out.sent_to(c_addr).empty());
}

TEST_CASE("lobby: bad datagrams are dropped with their reason and do not register the sender", "[lobby]") {
  struct bad_case {
    const char* name;
    byte_vector datagram;
    errc expected;
  };
  const bad_case cases[] = {
      {"empty datagram", {}, errc::malformed},
      {"UsernameSize 0 (it would look like a server notice)", from_hex("00 68 69"), errc::malformed},
      {"UsernameSize 0 alone", from_hex("00"), errc::malformed},
      {"UsernameSize larger than the datagram", from_hex("05 61 6c 69 63"), errc::malformed},
      {"UsernameSize 255 with a short datagram", from_hex("ff 61"), errc::malformed},
      {"username with a control character", server_datagram_bytes("al\tice", "hi"), errc::control_character},
      {"username with DEL", server_datagram_bytes("alice\x7f", "hi"), errc::control_character},
      {"username with a C1 control", server_datagram_bytes("al\xc2\x85", "hi"), errc::control_character},
      {"username not UTF-8", server_datagram_bytes("al\xff", "hi"), errc::invalid_utf8},
      {"message not UTF-8", server_datagram_bytes("alice", "h\xc3"), errc::invalid_utf8},
      {"message with a surrogate", server_datagram_bytes("alice", "\xed\xa0\x80"), errc::invalid_utf8},
      {"message starting with 0x00", server_datagram_bytes("alice", chat_test::control_message(R"({"type":"leave"})")),
       errc::bad_control},
      {"message that is only 0x00", from_hex("05 61 6c 69 63 65 00"), errc::bad_control},
      {"4095 bytes", server_datagram_bytes("alice", std::string(4095 - 6, 'x')), errc::too_long},
      {"4096 bytes", server_datagram_bytes("alice", std::string(4096 - 6, 'x')), errc::too_long},
      {"4097 bytes", server_datagram_bytes("alice", std::string(4097 - 6, 'x')), errc::oversize},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    lobby_fixture f;
    CHECK(outcome_text(f.send(server_datagram_bytes("bob", ""), b_addr)) == "keepalive");
    CHECK(outcome_text(f.send(c.datagram, a_addr)) == dropped(c.expected));
    CHECK(f.out.sent.empty());
    CHECK(f.l.member_count() == 1);
  }
}

TEST_CASE("lobby: 4094 bytes is the largest datagram relayed", "[lobby]") {
  lobby_fixture f;
  CHECK(outcome_text(f.send(server_datagram_bytes("bob", ""), b_addr)) == "keepalive");
  const byte_vector at_limit = server_datagram_bytes("alice", std::string(4094 - 6, 'x'));
  REQUIRE(at_limit.size() == 4094);
  CHECK(outcome_text(f.send(at_limit, a_addr)) == "relayed");
  CHECK(f.out.sent_to(b_addr) == datagrams{at_limit});
}

TEST_CASE("lobby: shutdown tells every address and forgets them", "[lobby]") {
  lobby_fixture f;
  CHECK(outcome_text(f.send(server_datagram_bytes("alice", ""), a_addr)) == "keepalive");
  CHECK(outcome_text(f.send(server_datagram_bytes("bob", ""), b_addr)) == "keepalive");
  f.l.shutdown(f.out);
  const byte_vector shutdown_notice = chat_test::notice_datagram(R"({"event":"server_shutdown"})");
  CHECK(f.out.sent_to(a_addr) == datagrams{shutdown_notice});
  CHECK(f.out.sent_to(b_addr) == datagrams{shutdown_notice});
  CHECK(f.out.sent.size() == 2);
  CHECK(f.l.member_count() == 0);
  CHECK_FALSE(f.l.next_deadline());
}
