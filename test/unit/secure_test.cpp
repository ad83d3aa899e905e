// Encrypted sessions: the handshake, sealed datagrams, the replay window, and the shared vectors
// (which an independent implementation on Node's crypto reproduces byte for byte).
#include "libchat/secure_handshake.hpp"

#include "libchat/datagram.hpp"
#include "libchat/replay_window.hpp"
#include "session_pair.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <cryptopp/osrng.h>
#include <cryptopp/xed25519.h>

#include <fstream>
#include <sstream>

using namespace libchat;
using chat_unit::session_pair;

namespace {

std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

std::vector<std::uint8_t> bytes_of(byte_view b) { return {b.begin(), b.end()}; }

// Every 32-byte X25519 public key of small order (dividing 8, on the curve or its twist), little
// endian. Canonical: u = 0 (order 2), u = 1 and u = p - 1 (order 4), and the two u of order 8
// (x-only doubling takes them to ±1, then to 0). Non-canonical: p and p + 1 (≡ 0 and 1). Then each
// with bit 255 set, which X25519 ignores (RFC 7748 §5). The test below checks that every one gives
// an all-zero shared secret with random private keys.
std::vector<public_key> small_order_keys() {
  std::vector<public_key> keys;
  for (const char* hex : {"0000000000000000000000000000000000000000000000000000000000000000",
                          "0100000000000000000000000000000000000000000000000000000000000000",
                          "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
                          "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
                          "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
                          "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
                          "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"}) {
    const auto raw = from_hex(hex);
    public_key k{};
    std::copy(raw.begin(), raw.end(), k.begin());
    keys.push_back(k);
    k[31] |= 0x80;
    keys.push_back(k);
  }
  return keys;
}

}  // namespace

TEST_CASE("secure: a handshake carries the request, the replies and two datagram keys", "[secure]") {
  auto key = server_key::generate();
  client_handshake client(key.public_half(), 2, "lobby");
  server_handshake server(key, 2, "lobby");

  const std::string payload = client.seal_request({"bob", std::string("hunter2")}).value();
  CHECK(is_sealed_request(payload));
  CHECK(payload.find("bob") == std::string::npos);
  CHECK(payload.find("hunter2") == std::string::npos);
  auto request = server.open_request(payload);
  REQUIRE(request.has_value());
  CHECK(request->username == "bob");
  CHECK(request->password == "hunter2");

  auto response = client.open_response(server.seal_response(encode_accepted({"Joining"})));
  REQUIRE(response.has_value());
  CHECK(std::holds_alternative<accepted_response>(*response));
  const std::string completion_payload = server.seal_completion(encode_completion({false, "secret-token", 9000, false, 42}));
  CHECK(completion_payload.find("secret-token") == std::string::npos);
  auto completion = client.open_completion(completion_payload);
  REQUIRE(completion.has_value());
  const auto& done = std::get<completion_response>(*completion);
  CHECK(done.token == "secret-token");
  CHECK(done.session == 42u);

  auto c = client.channel(42);
  auto s = server.channel(42);
  std::array<std::uint8_t, max_client_datagram> wire{};
  auto n = c->seal_client_datagram("lobby", as_bytes("hello"), wire);
  REQUIRE(n.has_value());
  auto d = decode_client_datagram(byte_view(wire.data(), *n));
  REQUIRE(d.has_value());
  CHECK(d->sealed);
  CHECK(d->token.size() == session_id_bytes);
  std::array<std::uint8_t, max_client_datagram> message{};
  auto m = s->open_client_message(d->header, d->message, message);
  REQUIRE(m.has_value());
  CHECK(as_text(byte_view(message.data(), *m)) == "hello");

  std::array<std::uint8_t, 64> sealed{};
  auto back = s->seal_server_datagram(as_bytes("\x05" "alicehi"), sealed);
  REQUIRE(back.has_value());
  std::array<std::uint8_t, 64> plain{};
  auto opened = c->open_server_datagram(byte_view(sealed.data(), *back), plain);
  REQUIRE(opened.has_value());
  CHECK(as_text(byte_view(plain.data(), *opened)) == "\x05" "alicehi");
}

TEST_CASE("secure: errors are sealed too, and a plaintext error is accepted only as an error", "[secure]") {
  auto key = server_key::generate();
  client_handshake client(key.public_half(), 1, "lobby");
  server_handshake server(key, 1, "lobby");
  REQUIRE(server.open_request(client.seal_request({"alice", std::nullopt}).value()).has_value());
  auto refused = client.open_response(server.seal_response(encode_error({tcrp_error::room_exists, "taken"})));
  REQUIRE(refused.has_value());
  REQUIRE(std::holds_alternative<error_response>(*refused));
  CHECK(std::get<error_response>(*refused).error == tcrp_error::room_exists);

  // A plaintext 202 is never believed: only the server could have sealed it.
  client_handshake other(key.public_half(), 1, "lobby");
  (void)other.seal_request({"alice", std::nullopt}).value();
  CHECK(other.open_response(encode_accepted({"fake"})).error() == errc::bad_handshake);
  auto plain_error = other.open_response(encode_error({tcrp_error::bad_request, "could not open"}));
  REQUIRE(plain_error.has_value());
  CHECK(std::holds_alternative<error_response>(*plain_error));
}

TEST_CASE("secure: a client that holds the wrong server key cannot be read", "[secure]") {
  auto real = server_key::generate();
  auto impostor = server_key::generate();
  client_handshake client(impostor.public_half(), 1, "lobby");
  server_handshake server(real, 1, "lobby");
  CHECK(server.open_request(client.seal_request({"alice", std::string("pw")}).value()).error() == errc::bad_handshake);
}

TEST_CASE("secure: the operation and room are bound into the keys", "[secure]") {
  auto key = server_key::generate();
  client_handshake client(key.public_half(), 1, "lobby");
  const auto payload = client.seal_request({"alice", std::nullopt}).value();
  server_handshake other_room(key, 1, "other");
  CHECK(other_room.open_request(payload).error() == errc::bad_handshake);
  server_handshake other_operation(key, 2, "lobby");
  CHECK(other_operation.open_request(payload).error() == errc::bad_handshake);
}

TEST_CASE("secure: bad ephemeral keys are refused", "[secure]") {
  auto key = server_key::generate();
  const std::string ct = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  for (const std::string& e : {std::string(43, 'A'),                                  // all zero: small order
                              std::string("7P___________________________________________").substr(0, 43),  // p - 1 ish
                              std::string(42, 'B'),                                  // 31 bytes
                              std::string(44, 'B'),                                  // not base64url of 32 bytes
                              std::string("not base64!")}) {
    INFO(e);
    server_handshake server(key, 1, "lobby");
    CHECK(server.open_request(R"({"e":")" + e + R"(","ct":")" + ct + R"("})").error() == errc::bad_handshake);
  }
  server_handshake server(key, 1, "lobby");
  CHECK(server.open_request(R"({"e":1,"ct":2})").error() == errc::bad_handshake);
  CHECK(server.open_request("not json").error() == errc::bad_handshake);
}

TEST_CASE("secure: every bit flipped in a sealed datagram is rejected and the session survives", "[secure]") {
  session_pair p;
  const auto good = p.client_datagram("tamper with me");
  for (std::size_t bit = 0; bit < good.size() * 8; ++bit) {
    auto bad = good;
    bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    INFO("bit " << bit);
    CHECK_FALSE(p.server_opens(bad).has_value());
  }
  auto opened = p.server_opens(good);
  REQUIRE(opened.has_value());
  CHECK(*opened == "tamper with me");

  // The other direction.
  std::array<std::uint8_t, 64> sealed{};
  auto n = p.server_channel->seal_server_datagram(as_bytes("\x03" "bobhi"), sealed);
  REQUIRE(n.has_value());
  std::array<std::uint8_t, 64> plain{};
  for (std::size_t bit = 0; bit < *n * 8; ++bit) {
    auto bad = bytes_of(byte_view(sealed.data(), *n));
    bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    CHECK_FALSE(p.client_channel->open_server_datagram(bad, plain).has_value());
  }
  CHECK(p.client_channel->open_server_datagram(byte_view(sealed.data(), *n), plain).has_value());
}

TEST_CASE("secure: a captured datagram is accepted once", "[secure]") {
  session_pair p;
  const auto d = p.client_datagram("pay bob 10");
  CHECK(p.server_opens(d).has_value());
  CHECK(p.server_opens(d).error() == errc::replay);
  CHECK(p.server_opens(p.client_datagram("next")).has_value());
  CHECK(p.server_opens(d).error() == errc::replay);
}

TEST_CASE("secure: datagrams reordered within the window are accepted, each once", "[secure]") {
  session_pair p;
  std::vector<std::vector<std::uint8_t>> sent;
  for (int i = 0; i < 100; ++i) sent.push_back(p.client_datagram("m" + std::to_string(i)));
  for (int i = 99; i >= 0; --i) CHECK(p.server_opens(sent[static_cast<std::size_t>(i)]) == "m" + std::to_string(i));
  for (const auto& d : sent) CHECK(p.server_opens(d).error() == errc::replay);
}

TEST_CASE("replay window: in order, reordered, duplicate, too old, far future", "[secure][replay]") {
  replay_window w;
  struct step {
    std::uint64_t counter;
    bool fresh;
  };
  const std::vector<step> steps{
      {0, true},    {1, true},    {1, false},   {9, true},    {8, true},   {7, true},   {7, false},
      {2000, true}, {17, true},   {16, false},  {15, false},  // 2000 - 1984 = 16: the first too old
      {2001, true}, {17, false},  {18, true},   {1999, true}, {1999, false}, {100000, true}, {2001, false},
      {98017, true}, {98016, false}, {100000, false}, {99999, true}, {std::uint64_t{1} << 40, true},
      {99999, false},
  };
  for (const auto& s : steps) {
    INFO("counter " << s.counter);
    CHECK(w.check(s.counter) == s.fresh);
    if (s.fresh) w.accept(s.counter);
  }
}

TEST_CASE("replay window: a forged high counter does not move the window", "[secure][replay]") {
  session_pair p;
  const auto early = p.client_datagram("early");
  // Forge a datagram with a counter far ahead: the tag cannot verify, so the window stays.
  auto forged = p.client_datagram("forged");
  const std::size_t counter_at = 2 + 5 + 8;
  forged[counter_at + 5] = 0x03;  // counter 196608: far ahead, below the key limit
  CHECK(p.server_opens(forged).error() == errc::auth_failed);
  CHECK(p.server_channel->auth_failures() == 1);
  CHECK(p.server_opens(early).value() == "early");
}

TEST_CASE("secure: a leaked server key does not open recorded sessions", "[secure]") {
  // Record everything on the wire of one session.
  session_pair p;
  const auto recorded = p.client_datagram("the secret plan");
  std::array<std::uint8_t, 64> sealed{};
  auto n = p.server_channel->seal_server_datagram(as_bytes("\x03" "bobyes"), sealed);
  REQUIRE(n.has_value());
  const auto recorded_back = bytes_of(byte_view(sealed.data(), *n));

  // Later the server's static key leaks. With it an attacker can read the first handshake
  // message (the username, and the password: the NK pattern's known limit, docs/security.md),
  // but every key after it also depends on the ephemeral keys, which are gone.
  server_handshake attacker(p.key, 1, "lobby");
  REQUIRE(attacker.open_request(p.request_payload).has_value());
  (void)attacker.seal_response(encode_accepted({"replayed"}));
  auto attacker_channel = attacker.channel(7);
  auto d = decode_client_datagram(recorded);
  REQUIRE(d.has_value());
  std::array<std::uint8_t, max_client_datagram> out{};
  CHECK(attacker_channel->open_client_message(d->header, d->message, out).error() == errc::auth_failed);
}

TEST_CASE("secure: the fingerprint is SHA-256 in OpenSSH's notation", "[secure]") {
  auto key = server_key::generate();
  const auto fp = key.fingerprint();
  CHECK(fp.rfind("SHA256:", 0) == 0);
  CHECK(fp.size() == 7 + 43);
  auto again = server_key::from_private([&] {
    std::array<std::uint8_t, 32> raw{};
    key.save(raw);
    return std::vector<std::uint8_t>(raw.begin(), raw.end());
  }());
  REQUIRE(again);
  CHECK(again->fingerprint() == fp);
  auto parsed = parse_server_key_response(encode_server_key_response(key.public_half()));
  REQUIRE(parsed.has_value());
  CHECK(*parsed == key.public_half());
  auto other = server_key::generate();
  std::string mismatched = encode_server_key_response(key.public_half());
  mismatched.replace(mismatched.find("SHA256:"), fp.size(), other.fingerprint());
  CHECK_FALSE(parse_server_key_response(mismatched).has_value());
}

TEST_CASE("secure: the small-order keys give an all-zero X25519 secret with any private key", "[secure][small_order]") {
  CryptoPP::AutoSeededRandomPool rng;
  CryptoPP::x25519 x;
  const auto keys = small_order_keys();
  REQUIRE(keys.size() == 14);
  for (const auto& k : keys) {
    INFO(key_fingerprint(k));
    for (int i = 0; i < 8; ++i) {
      std::array<std::uint8_t, 32> priv{}, shared{};
      shared.fill(0xaa);
      x.GeneratePrivateKey(rng, priv.data());
      (void)x.Agree(shared.data(), priv.data(), k.data(), false);  // the raw function, unchecked
      CHECK(shared == std::array<std::uint8_t, 32>{});
    }
  }
  // And a real key does not.
  std::array<std::uint8_t, 32> priv{}, shared{};
  x.GeneratePrivateKey(rng, priv.data());
  CHECK(x.Agree(shared.data(), priv.data(), server_key::generate().public_half().data(), false));
  CHECK(shared != std::array<std::uint8_t, 32>{});
}

// A server (or an impostor at its address, on first contact) that gives out a small-order key
// would make the client's agreement with it all zeros: the request would be sealed under a key
// anyone can compute. The key is refused where it is read, before anything is pinned or sealed.
TEST_CASE("secure: a small-order server key is refused when the key reply is parsed", "[secure][small_order]") {
  for (const auto& k : small_order_keys()) {
    INFO(key_fingerprint(k));
    const auto parsed = parse_server_key_response(encode_server_key_response(k));
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error() == errc::weak_key);
    CHECK(parsed.error().message().find("small-order") != std::string::npos);
  }
  for (int i = 0; i < 20; ++i) {
    const auto k = server_key::generate().public_half();
    CHECK(parse_server_key_response(encode_server_key_response(k)).value() == k);
  }
}

TEST_CASE("secure: nothing is sealed to a small-order server key", "[secure][small_order]") {
  for (const auto& k : small_order_keys()) {
    INFO(key_fingerprint(k));
    client_handshake client(k, 1, "lobby");
    const auto sealed = client.seal_request({"alice", std::string("hunter2")});
    REQUIRE_FALSE(sealed.has_value());
    CHECK(sealed.error() == errc::weak_key);
  }
}

TEST_CASE("secure: the shared vectors, reproduced by an independent implementation", "[secure][vectors]") {
  std::ifstream file(PROTOCOL_VECTORS_PATH);
  std::stringstream text;
  text << file.rdbuf();
  const auto v = boost::json::parse(text.str()).at("encrypted").as_object();
  const auto str = [&](const char* k) { return std::string(v.at(k).as_string()); };

  auto key = server_key::from_private(from_hex(str("server_static_private_hex")));
  REQUIRE(key);
  CHECK(bytes_of(key->public_half()) == from_hex(str("server_static_public_hex")));
  CHECK(key->fingerprint() == str("fingerprint"));
  CHECK(encode_server_key_response(key->public_half()) == str("server_key_response"));

  const auto e = from_hex(str("client_ephemeral_private_hex"));
  const auto f = from_hex(str("server_ephemeral_private_hex"));
  const auto op = static_cast<std::uint8_t>(v.at("operation").as_int64());
  client_handshake client(key->public_half(), op, str("room"), byte_view(e));
  server_handshake server(*key, op, str("room"), byte_view(f));

  const libchat::wall_time sealed_at(std::chrono::seconds(v.at("time").as_int64()));
  CHECK(client.seal_request({"alice", std::string("hunter2"), sealed_at}).value() == str("request_payload"));
  auto request = server.open_request(str("request_payload"));
  REQUIRE(request.has_value());
  CHECK(encode_room_request(*request) == str("request_json"));
  CHECK(request->sent_at == sealed_at);
  CHECK(server.seal_response(str("response_json")) == str("response_payload"));
  CHECK(server.seal_completion(str("completion_json")) == str("completion_payload"));
  REQUIRE(client.open_response(str("response_payload")).has_value());
  auto completion = client.open_completion(str("completion_payload"));
  REQUIRE(completion.has_value());
  const auto session = std::get<completion_response>(*completion).session;
  REQUIRE(session);
  CHECK(*session == static_cast<std::uint64_t>(v.at("session_id").as_int64()));

  auto c = client.channel(*session);
  auto s = server.channel(*session);
  const auto& cd = v.at("client_datagram").as_object();
  std::array<std::uint8_t, max_client_datagram> out{};
  auto n = c->seal_client_datagram(std::string(cd.at("room").as_string()), as_bytes(std::string(cd.at("message").as_string())), out);
  REQUIRE(n.has_value());
  CHECK(bytes_of(byte_view(out.data(), *n)) == from_hex(std::string(cd.at("hex").as_string())));
  const auto& sd = v.at("server_datagram").as_object();
  auto m = s->seal_server_datagram(from_hex(std::string(sd.at("plaintext_hex").as_string())), out);
  REQUIRE(m.has_value());
  CHECK(bytes_of(byte_view(out.data(), *m)) == from_hex(std::string(sd.at("hex").as_string())));

  // The key update: the same session at the interval a completion may announce; the datagrams at
  // counter key_datagrams are the first under each direction's second key.
  const auto& ku = v.at("key_update").as_object();
  const auto interval = static_cast<std::uint64_t>(ku.at("key_datagrams").as_int64());
  auto c2 = client.channel(*session, interval);
  auto s2 = server.channel(*session, interval);
  const auto& kcd = ku.at("client_datagram").as_object();
  const auto& ksd = ku.at("server_datagram").as_object();
  const auto message = std::string(kcd.at("message").as_string());
  const auto plaintext = from_hex(std::string(ksd.at("plaintext_hex").as_string()));
  for (std::uint64_t i = 0; i <= interval; ++i) {
    n = c2->seal_client_datagram(std::string(kcd.at("room").as_string()), as_bytes(message), out);
    REQUIRE(n.has_value());
  }
  CHECK(bytes_of(byte_view(out.data(), *n)) == from_hex(std::string(kcd.at("hex").as_string())));
  for (std::uint64_t i = 0; i <= interval; ++i) {
    m = s2->seal_server_datagram(plaintext, out);
    REQUIRE(m.has_value());
  }
  CHECK(bytes_of(byte_view(out.data(), *m)) == from_hex(std::string(ksd.at("hex").as_string())));
  // A receiver that has seen nothing yet opens it under the key it derives (one update ahead).
  std::array<std::uint8_t, max_client_datagram> opened{};
  auto fresh = client.channel(*session, interval);
  auto got = fresh->open_server_datagram(from_hex(std::string(ksd.at("hex").as_string())), opened);
  REQUIRE(got.has_value());
  CHECK(bytes_of(byte_view(opened.data(), *got)) == plaintext);
  CHECK(fresh->receive_key_updates() == 1);
}
