#include "libchat/bytes.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <vector>

using namespace libchat;

TEST_CASE("big-endian sizes round-trip through a 29-byte field", "[bytes]") {
  std::array<std::uint8_t, 29> field{};
  for (std::uint64_t value : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{8192}, ~std::uint64_t{0}}) {
    store_big_endian(value, field);
    std::uint64_t back = 7;
    REQUIRE(load_big_endian(field, back));
    CHECK(back == value);
  }
}

TEST_CASE("a 29-byte size above 64 bits is reported, not truncated", "[bytes]") {
  std::array<std::uint8_t, 29> field{};
  field[28] = 10;  // low byte says 10 ...
  field[20] = 1;   // ... but a byte above the low eight makes it 2^64 + 10
  std::uint64_t value = 0;
  CHECK_FALSE(load_big_endian(field, value));
}
