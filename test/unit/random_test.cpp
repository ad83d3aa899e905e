// Injected randomness: with a seeded random_source every secret libchat makes (tokens, salts,
// key pairs) is reproducible, so a test can name what a run produces and a fuzzer can replay it.
#include "libchat/random.hpp"

#include <catch2/catch.hpp>

#include "libchat/password.hpp"
#include "libchat/room.hpp"
#include "libchat/secure_handshake.hpp"
#include "libchat/token.hpp"
#include "support/fake_clock.hpp"
#include "support/hex.hpp"
#include "support/recording_output.hpp"
#include "support/seeded_random.hpp"

#include <array>
#include <string>
#include <vector>

using namespace libchat;
using chat_test::fixed_random;
using chat_test::from_hex;
using chat_test::seeded_random;

TEST_CASE("random: a token is the 24 bytes the source gives, index first", "[random][token]") {
  const auto raw = from_hex("0102030405060708 a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  fixed_random source(raw);
  const member_token t = generate_token(source);
  CHECK(t.index == 0x0102030405060708ULL);
  CHECK(t.secret[0] == 0xa0);
  CHECK(t.secret[15] == 0xaf);
  CHECK(token_text(t) == "AQIDBAUGBwigoaKjpKWmp6ipqqusra6v");
}

TEST_CASE("random: the same seed gives the same tokens, salts and keys", "[random]") {
  // Each check draws from fresh sources, so that no stream is ahead of its twin.
  const auto token_from = [](std::uint64_t seed) {
    seeded_random source(seed);
    return token_text(generate_token(source));
  };
  CHECK(token_from(42) == token_from(42));
  CHECK(token_from(42) != token_from(43));

  const password_params fast{.log2_cost = 4};
  const auto hash_from = [&](std::uint64_t seed) {
    seeded_random source(seed);
    return hash_password("hunter2", fast, source);
  };
  const password_hash h = hash_from(42);
  CHECK(h.salt == hash_from(42).salt);
  CHECK(h.key == hash_from(42).key);
  CHECK(verify_password("hunter2", h));
  CHECK(h.salt != hash_from(43).salt);

  const auto key_from = [](std::uint64_t seed) {
    seeded_random source(seed);
    return server_key::generate(source).public_half();
  };
  CHECK(key_from(42) == key_from(42));
  CHECK(key_from(42) != key_from(43));
}

TEST_CASE("random: a generated server key is the source's bytes clamped (RFC 7748 §6.1)", "[random][crypto]") {
  // Alice's private key from RFC 7748 §6.1, and the public key the RFC gives for it.
  const auto alice_private = from_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const auto alice_public = from_hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  fixed_random source(alice_private);
  const server_key key = server_key::generate(source);
  CHECK(std::vector<std::uint8_t>(key.public_half().begin(), key.public_half().end()) == alice_public);
  // What is saved is the clamped key, so that loading it again gives the same public half.
  std::array<std::uint8_t, x25519_key_bytes> saved{};
  key.save(saved);
  CHECK((saved[0] & 7) == 0);
  CHECK((saved[31] & 0xc0) == 0x40);
  CHECK(server_key::from_private(saved)->public_half() == key.public_half());
}

TEST_CASE("random: a room issues its tokens from the source it was given", "[random][room]") {
  chat_test::fake_clock clock;
  chat_test::recording_output out;
  const auto alice = chat_test::v4(10, 0, 0, 1, 5001), bob = chat_test::v4(10, 0, 0, 2, 5002);
  const auto issue = [&](std::uint64_t seed) {
    seeded_random source(seed);
    room r("lobby", std::nullopt, {}, source);
    std::vector<std::string> tokens;
    tokens.push_back(r.admit("alice", alice.ip, clock.now, out)->token);
    tokens.push_back(r.admit("bob", bob.ip, clock.now, out)->token);
    return tokens;
  };
  const auto first = issue(7);
  CHECK(first == issue(7));
  CHECK(first != issue(8));
  seeded_random replay(7);
  CHECK(first[0] == token_text(generate_token(replay)));
  CHECK(first[1] == token_text(generate_token(replay)));
}

TEST_CASE("random: the system source never repeats itself", "[random]") {
  std::array<std::uint8_t, 32> a{}, b{};
  system_random().fill(a);
  system_random().fill(b);
  CHECK(a != b);
}
