#include "libchat/token.hpp"

#include <catch2/catch.hpp>

#include "support/catch_strings.hpp"

#include <set>
#include <string>

using namespace libchat;

namespace {

bool is_base64url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

member_token make_token(std::uint64_t index, std::uint8_t first_secret_byte) {
  member_token t;
  t.index = index;
  for (std::size_t i = 0; i < t.secret.size(); ++i) t.secret[i] = static_cast<std::uint8_t>(first_secret_byte + i);
  return t;
}

bool same_token(const member_token& a, const member_token& b) { return a.index == b.index && a.secret == b.secret; }

}  // namespace

TEST_CASE("token text is 32 characters of base64url, byte vectors in both directions", "[token]") {
  struct token_case {
    const char* name;
    member_token token;
    const char* text;
  };
  member_token ones;
  ones.index = 0xfbefbefbefbefbefULL;
  ones.secret.fill(0xff);
  const token_case cases[] = {
      {"all zero", member_token{}, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
      {"index 0102…08, secret 00…0f", make_token(0x0102030405060708ULL, 0x00), "AQIDBAUGBwgAAQIDBAUGBwgJCgsMDQ4P"},
      {"the two characters beyond the alphanumerics", ones, "----------______________________"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(token_text(c.token) == c.text);
    const auto parsed = parse_token(c.text);
    REQUIRE(parsed);
    CHECK(parsed->index == c.token.index);
    CHECK(parsed->secret == c.token.secret);
  }
}

TEST_CASE("generated tokens are printable, round-trip and differ", "[token]") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const member_token t = generate_token();
    const std::string text = token_text(t);
    REQUIRE(text.size() == token_text_size);
    for (char c : text) CHECK(is_base64url(c));
    const auto back = parse_token(text);
    REQUIRE(back);
    CHECK(same_token(*back, t));
    CHECK(seen.insert(text).second);
  }
  const member_token a = generate_token();
  const member_token b = generate_token();
  CHECK(a.index != b.index);
  CHECK(a.secret != b.secret);
}

TEST_CASE("parse_token rejects anything but 32 base64url characters", "[token]") {
  const std::string good = "AQIDBAUGBwgAAQIDBAUGBwgJCgsMDQ4P";
  REQUIRE(parse_token(good));
  CHECK_FALSE(parse_token(""));
  CHECK_FALSE(parse_token(good.substr(0, 31)));
  CHECK_FALSE(parse_token(good + "A"));
  CHECK_FALSE(parse_token(good + good));
  // Each character position, replaced by characters outside the alphabet.
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (char bad : {'+', '/', '=', ' ', '.', '\0', '\x7f', '\xc3'}) {
      std::string t = good;
      t[i] = bad;
      INFO("position " << i << ", byte " << static_cast<int>(static_cast<unsigned char>(bad)));
      CHECK_FALSE(parse_token(t));
    }
  }
}

TEST_CASE("same_secret compares the secret only, wherever it differs", "[token]") {
  const member_token a = make_token(1, 0x10);
  CHECK(same_secret(a, a));
  CHECK(same_secret(a, make_token(2, 0x10)));  // the index is not part of the secret
  for (std::size_t i = 0; i < token_secret_bytes; ++i) {
    member_token b = a;
    b.secret[i] ^= 0x01;
    INFO("secret byte " << i);
    CHECK_FALSE(same_secret(a, b));
  }
}
