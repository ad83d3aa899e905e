#include "libchat/password.hpp"

#include <catch2/catch.hpp>

#include "support/catch_strings.hpp"
#include "support/hex.hpp"

#include <algorithm>

using namespace libchat;
using chat_test::from_hex;

namespace {

// A low cost keeps the tests fast; the cost is a parameter, not part of what is tested here.
const password_params fast{.log2_cost = 10, .block_size = 8, .parallelism = 1};

template <std::size_t N>
std::array<std::uint8_t, N> array_from_hex(const char* hex) {
  const auto v = from_hex(hex);
  REQUIRE(v.size() == N);
  std::array<std::uint8_t, N> out{};
  std::copy(v.begin(), v.end(), out.begin());
  return out;
}

}  // namespace

TEST_CASE("verify_password accepts the right password and rejects others", "[password]") {
  const password_hash h = hash_password("hunter2", fast);
  CHECK(h.params.log2_cost == 10);
  CHECK(h.params.block_size == 8);
  CHECK(h.params.parallelism == 1);
  CHECK(verify_password("hunter2", h));
  CHECK_FALSE(verify_password("hunter3", h));
  CHECK_FALSE(verify_password("Hunter2", h));
  CHECK_FALSE(verify_password("hunter2 ", h));
  CHECK_FALSE(verify_password("", h));

  const password_hash empty = hash_password("", fast);
  CHECK(verify_password("", empty));
  CHECK_FALSE(verify_password("hunter2", empty));
}

TEST_CASE("each hash has its own salt", "[password]") {
  const password_hash a = hash_password("hunter2", fast);
  const password_hash b = hash_password("hunter2", fast);
  CHECK(a.salt != b.salt);
  CHECK(a.key != b.key);
  CHECK(verify_password("hunter2", a));
  CHECK(verify_password("hunter2", b));
}

TEST_CASE("verify_password recomputes with the stored salt and parameters", "[password]") {
  const password_hash h = hash_password("hunter2", fast);
  password_hash other_salt = h;
  other_salt.salt[0] ^= 1;
  CHECK_FALSE(verify_password("hunter2", other_salt));
  password_hash other_key = h;
  other_key.key[31] ^= 1;
  CHECK_FALSE(verify_password("hunter2", other_key));
  password_hash other_cost = h;
  other_cost.params.log2_cost = 11;
  CHECK_FALSE(verify_password("hunter2", other_cost));
}

TEST_CASE("the stored key is scrypt with N = 2^log2_cost (known answers)", "[password]") {
  // Reference values computed independently (Python hashlib.scrypt, dklen 32).
  password_hash h;
  h.params = fast;
  h.salt = array_from_hex<16>("00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f");
  h.key = array_from_hex<32>("0d7046164e5cb63bfa849d6aaa7ebfbc3271bc0153976c91df15815eefe0c882");
  CHECK(verify_password("hunter2", h));
  CHECK_FALSE(verify_password("hunter3", h));

  password_hash e;
  e.params = fast;
  e.salt = array_from_hex<16>("a5*16");
  e.key = array_from_hex<32>("16d6195024dc6c5f0da2200b9ddc43581b95bdc519919ecae203508d50acd406");
  CHECK(verify_password("", e));
}
