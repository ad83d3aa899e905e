// A room of encrypted members: sealed datagrams in, one sealed copy per recipient out.
#include "libchat/room.hpp"

#include "libchat/control.hpp"
#include "libchat/secure_handshake.hpp"
#include "support/fake_clock.hpp"
#include "support/recording_output.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace libchat;

namespace {

peer_address addr(std::uint8_t host, std::uint16_t port) {
  return {ip_address::from_v4({10, 0, 0, host}), port};
}

// A server-side room and, for each member, the client half of its session.
struct secure_room {
  server_key key = server_key::generate();
  chat_test::fake_clock clock;
  chat_test::recording_output out;
  room r{"vault", std::nullopt, room_limits{}};
  struct client {
    peer_address at;
    std::unique_ptr<secure_channel> channel;
  };
  std::map<std::string, client> clients;

  boost::system::result<issued_token> admit(const std::string& name, peer_address at) {
    client_handshake c(key.public_half(), 2, "vault");
    auto s = std::make_shared<server_handshake>(key, 2, "vault");
    REQUIRE(s->open_request(c.seal_request({name, std::nullopt}).value()).has_value());
    REQUIRE(c.open_response(s->seal_response(encode_accepted({"ok"}))).has_value());
    auto issued = r.admit(name, at.ip, clock.now, out, [s](std::uint64_t id) { return s->channel(id); });
    if (!issued) return issued;
    REQUIRE(c.open_completion(s->seal_completion(encode_completion({false, issued->token, 1, false, issued->session})))
                .has_value());
    clients[name] = {at, c.channel(issued->session)};
    return issued;
  }

  datagram_outcome send(const std::string& name, std::string_view message) {
    std::array<std::uint8_t, max_client_datagram> wire{};
    auto n = clients[name].channel->seal_client_datagram("vault", as_bytes(message), wire);
    REQUIRE(n.has_value());
    return deliver(name, std::vector<std::uint8_t>(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(*n)));
  }

  datagram_outcome deliver(const std::string& name, const std::vector<std::uint8_t>& datagram) {
    return deliver_from(clients[name].at, datagram);
  }
  datagram_outcome deliver_from(const peer_address& from, const std::vector<std::uint8_t>& datagram) {
    auto d = decode_client_datagram(datagram);
    REQUIRE(d.has_value());
    return r.on_datagram(*d, from, clock.now, out);
  }
  /// `name`'s next sealed datagram, not sent yet.
  std::vector<std::uint8_t> seal(const std::string& name, std::string_view message) {
    std::array<std::uint8_t, max_client_datagram> wire{};
    auto n = clients[name].channel->seal_client_datagram("vault", as_bytes(message), wire);
    REQUIRE(n.has_value());
    return {wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(*n)};
  }

  // What `name` can read of what the room sent it.
  std::vector<std::string> read(const std::string& name) {
    std::vector<std::string> texts;
    for (const auto& d : out.sent_to(clients[name].at)) {
      std::array<std::uint8_t, max_server_datagram> plain{};
      auto n = clients[name].channel->open_server_datagram(d, plain);
      REQUIRE(n.has_value());
      auto s = decode_server_datagram(byte_view(plain.data(), *n));
      REQUIRE(s.has_value());
      texts.push_back(std::string(s->sender) + ":" + std::string(as_text(s->text)));
    }
    return texts;
  }
};

}  // namespace

TEST_CASE("secure room: messages are relayed sealed, each copy under its recipient's key", "[room][secure]") {
  secure_room s;
  REQUIRE(s.admit("alice", addr(1, 1000)).has_value());
  REQUIRE(s.admit("bob", addr(2, 2000)).has_value());
  CHECK(s.send("alice", "").what == datagram_outcome::kind::keepalive);
  CHECK(s.send("bob", "").what == datagram_outcome::kind::keepalive);
  s.out.clear();

  CHECK(s.send("alice", "the vault code is 1234").what == datagram_outcome::kind::relayed);
  REQUIRE(s.out.sent.size() == 1);
  const auto& wire = s.out.sent[0].bytes;
  CHECK(std::string(wire.begin(), wire.end()).find("1234") == std::string::npos);
  CHECK(s.read("bob") == std::vector<std::string>{"alice:the vault code is 1234"});
}

TEST_CASE("secure room: notices are sealed too", "[room][secure]") {
  secure_room s;
  REQUIRE(s.admit("alice", addr(1, 1000)).has_value());
  CHECK(s.send("alice", "").what == datagram_outcome::kind::keepalive);
  CHECK(s.read("alice") ==
        std::vector<std::string>{R"(:{"event":"pong"})",
                                 R"(:{"event":"members","part":1,"parts":1,"host":"alice","users":["alice"]})"});
}

TEST_CASE("secure room: a room is encrypted or not as its host is", "[room][secure]") {
  secure_room s;
  REQUIRE(s.admit("alice", addr(1, 1000)).has_value());
  CHECK(s.r.admit("plain", addr(3, 3000).ip, s.clock.now, s.out).error() == errc::encryption_required);

  room plain_room("plain", std::nullopt, {});
  REQUIRE(plain_room.admit("host", addr(4, 4000).ip, s.clock.now, s.out).has_value());
  auto key = server_key::generate();
  auto hs = std::make_shared<server_handshake>(key, 2, "plain");
  CHECK(plain_room.admit("sealed", addr(5, 5000).ip, s.clock.now, s.out, [hs](std::uint64_t id) { return hs->channel(id); })
            .error() == errc::encryption_mismatch);
}

TEST_CASE("secure room: a replayed datagram is relayed once", "[room][secure]") {
  secure_room s;
  REQUIRE(s.admit("alice", addr(1, 1000)).has_value());
  REQUIRE(s.admit("bob", addr(2, 2000)).has_value());
  s.send("alice", "");
  s.send("bob", "");
  std::array<std::uint8_t, max_client_datagram> wire{};
  auto n = s.clients["alice"].channel->seal_client_datagram("vault", as_bytes("once"), wire);
  const std::vector<std::uint8_t> d(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(*n));
  s.out.clear();
  CHECK(s.deliver("alice", d).what == datagram_outcome::kind::relayed);
  CHECK(s.deliver("alice", d).reason == errc::replay);
  CHECK(s.out.sent.size() == 1);
}

TEST_CASE("secure room: a plaintext datagram with an encrypted member's token is dropped", "[room][secure]") {
  secure_room s;
  auto issued = s.admit("alice", addr(1, 1000));
  REQUIRE(issued.has_value());
  CHECK(s.r.on_datagram(issued->token, as_bytes("hi"), addr(1, 1000), s.clock.now, s.out).reason == errc::bad_token);
}

// A forger who knows a member's session id and address (both in clear on the wire) must not be
// able to remove it, nor close the room by aiming at the host: a datagram that does not verify is
// a counted drop and nothing else (WireGuard's rule).
TEST_CASE("secure room: datagrams that fail to authenticate remove nobody, however many", "[room][secure]") {
  secure_room s;
  REQUIRE(s.admit("alice", addr(1, 1000)).has_value());  // the host
  REQUIRE(s.admit("bob", addr(2, 2000)).has_value());
  s.send("alice", "");
  s.send("bob", "");
  s.out.clear();
  for (const std::string name : {"alice", "bob"}) {
    std::array<std::uint8_t, max_client_datagram> wire{};
    auto n = s.clients[name].channel->seal_client_datagram("vault", as_bytes("x"), wire);
    REQUIRE(n.has_value());
    std::vector<std::uint8_t> bad(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(*n));
    bad.back() ^= 1;
    // Each try with a fresh, unseen counter, so that every one reaches the tag check.
    const std::size_t counter_at = bad.size() - 16 - 1 - 8;
    for (std::uint64_t i = 0; i < 5000; ++i) {
      store_big_endian(1000 + i, mutable_byte_view(bad.data() + counter_at, 8));
      REQUIRE(s.deliver(name, bad).reason == errc::auth_failed);
    }
  }
  CHECK(s.out.sent.empty());
  CHECK(s.out.events.empty());
  CHECK_FALSE(s.r.closed());
  CHECK(s.r.member_count() == 2);
  CHECK(s.send("alice", "still here").what == datagram_outcome::kind::relayed);
  CHECK(s.read("bob") == std::vector<std::string>{"alice:still here"});
}

TEST_CASE("secure room: a sealed leave goes through past the chat budget", "[room][secure][rate]") {
  secure_room s;
  REQUIRE(s.admit("alice", addr(1, 1000)).has_value());
  REQUIRE(s.admit("bob", addr(2, 2000)).has_value());
  s.send("alice", "");
  s.send("bob", "");
  int refused = 0;
  for (int i = 0; i < 40; ++i) refused += s.send("alice", "pasted " + std::to_string(i)).reason == errc::rate_limited;
  CHECK(refused == 10);  // the default budget: 30 at once
  s.out.clear();
  CHECK(s.send("alice", encode_control(control_type::leave)).what == datagram_outcome::kind::control);
  CHECK(s.r.closed());
  CHECK(s.read("bob") == std::vector<std::string>{R"(:{"event":"room_closed","reason":"host_left"})"});
}

// Roaming (issue 10, item 7; docs/protocol.md §7.1): a NAT that gives the client a new port must
// not cut it off, and nobody without the key can move a member.
TEST_CASE("secure room: the newest verified datagram from a new port moves the member there",
          "[room][secure][roaming]") {
  secure_room s;
  REQUIRE(s.admit("alice", addr(1, 1000)).has_value());
  REQUIRE(s.admit("bob", addr(2, 2000)).has_value());
  s.send("alice", "");
  s.send("bob", "");
  s.out.clear();
  const peer_address rebound = addr(1, 1777);  // the same IP, a new port
  CHECK(s.deliver_from(rebound, s.seal("alice", "after the rebinding")).what == datagram_outcome::kind::relayed);
  CHECK(s.read("bob") == std::vector<std::string>{"alice:after the rebinding"});
  REQUIRE(s.out.events.size() == 1);
  CHECK(s.out.events[0].what == room_event::kind::roamed);
  CHECK(s.out.events[0].endpoint == rebound);
  CHECK(s.out.events[0].previous == addr(1, 1000));
  // Replies go to the new port now, and nothing to the old one.
  s.clients["alice"].at = rebound;
  s.out.clear();
  CHECK(s.send("bob", "welcome back").what == datagram_outcome::kind::relayed);
  CHECK(s.read("alice") == std::vector<std::string>{"bob:welcome back"});
  CHECK(s.out.sent_to(addr(1, 1000)).empty());
  // And back again, should the NAT change its mind.
  s.out.clear();
  CHECK(s.deliver_from(addr(1, 1000), s.seal("alice", "")).what == datagram_outcome::kind::keepalive);
  CHECK(s.out.sent_to(addr(1, 1000)).size() == 1);  // the pong
}

TEST_CASE("secure room: an older datagram from another port is delivered without moving the member",
          "[room][secure][roaming]") {
  secure_room s;
  REQUIRE(s.admit("alice", addr(1, 1000)).has_value());
  REQUIRE(s.admit("bob", addr(2, 2000)).has_value());
  s.send("alice", "");
  s.send("bob", "");
  const auto older = s.seal("alice", "sent first");
  const auto newer = s.seal("alice", "sent second");
  s.out.clear();
  CHECK(s.deliver("alice", newer).what == datagram_outcome::kind::relayed);
  // Reordered across a rebinding, or forwarded by someone behind the same NAT: it is alice's, so
  // it is relayed, but it is not the newest, so alice stays where she is.
  CHECK(s.deliver_from(addr(1, 1777), older).what == datagram_outcome::kind::relayed);
  CHECK(s.read("bob") == std::vector<std::string>{"alice:sent second", "alice:sent first"});
  CHECK(s.out.events.empty());
  s.out.clear();
  s.send("bob", "still at 1000?");
  CHECK(s.read("alice") == std::vector<std::string>{"bob:still at 1000?"});
}

TEST_CASE("secure room: nobody without the key moves a member, nor onto another member's port",
          "[room][secure][roaming]") {
  secure_room s;
  REQUIRE(s.admit("alice", addr(1, 1000)).has_value());
  REQUIRE(s.admit("bob", addr(1, 2000)).has_value());  // the same IP: behind one NAT
  s.send("alice", "");
  s.send("bob", "");
  s.out.clear();
  auto forged = s.seal("alice", "moved?");
  forged.back() ^= 1;
  CHECK(s.deliver_from(addr(1, 1777), forged).reason == errc::auth_failed);
  CHECK(s.deliver_from(addr(3, 1000), s.seal("alice", "another IP")).reason == errc::ip_mismatch);
  CHECK(s.deliver_from(addr(1, 2000), s.seal("alice", "onto bob")).reason == errc::endpoint_in_use);
  CHECK(s.out.events.empty());
  CHECK(s.out.sent.empty());
  s.send("bob", "where is alice?");
  CHECK(s.read("alice") == std::vector<std::string>{"bob:where is alice?"});
}
