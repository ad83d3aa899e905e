#include "libchat/tcrp.hpp"

#include <catch2/catch.hpp>

#include "support/catch_strings.hpp"
#include "support/frames.hpp"
#include "support/hex.hpp"

#include <array>
#include <limits>

using namespace libchat;
using chat_test::byte_vector;
using chat_test::from_hex;

namespace {

constexpr std::uint64_t max_u64 = std::numeric_limits<std::uint64_t>::max();

tcrp_header decode(const byte_vector& bytes) {
  REQUIRE(bytes.size() == tcrp_header_size);
  return decode_header(std::span<const std::uint8_t, tcrp_header_size>(bytes.data(), tcrp_header_size));
}

byte_vector encode(const tcrp_header& h) {
  byte_vector out(tcrp_header_size, 0xee);  // poison: encode_header must write every byte
  encode_header(h, std::span<std::uint8_t, tcrp_header_size>(out.data(), tcrp_header_size));
  return out;
}

bool same(const tcrp_header& a, const tcrp_header& b) {
  return a.room_name_size == b.room_name_size && a.operation == b.operation && a.state == b.state &&
         a.payload_size == b.payload_size;
}

// The worked example of docs/protocol.md: alice creates room "lobby".
const char* const worked_example_hex =
    "05 01 00 00*28 14"                  // RoomNameSize 5, create, request, payload 20 bytes
    " | 6c 6f 62 62 79"                  // lobby
    " | 7b 22 75 73 65 72 6e 61 6d 65"   // {"username
    "   22 3a 22 61 6c 69 63 65 22 7d";  // ":"alice"}

}  // namespace

TEST_CASE("TCRP headers encode and decode to the same bytes in both directions", "[tcrp]") {
  struct header_case {
    const char* name;
    tcrp_header header;
    const char* hex;
  };
  const header_case cases[] = {
      {"create request, 20-byte payload", {5, 1, 0, 20}, "05 01 00 00*28 14"},
      {"join response, 0x0123-byte payload", {5, 2, 1, 0x0123}, "05 02 01 00*27 01 23"},
      {"completion, 255-byte room, 8192-byte payload", {255, 2, 2, 8192}, "ff 02 02 00*27 20 00"},
      {"error response with an empty room", {0, 1, 1, 60}, "00 01 01 00*28 3c"},
      {"empty payload", {1, 1, 0, 0}, "01 01 00 00*29"},
      {"2^29 bytes", {1, 1, 0, std::uint64_t{1} << 29}, "01 01 00 00*25 20 00 00 00"},
      {"largest 64-bit size", {1, 1, 0, max_u64}, "01 01 00 00*21 ff*8"},
      {"unknown operation and state kept raw", {7, 0xab, 0xcd, 1}, "07 ab cd 00*28 01"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const byte_vector bytes = from_hex(c.hex);
    CHECK(encode(c.header) == bytes);
    const tcrp_header decoded = decode(bytes);
    CHECK(decoded.room_name_size == c.header.room_name_size);
    CHECK(decoded.operation == c.header.operation);
    CHECK(decoded.state == c.header.state);
    CHECK(decoded.payload_size == c.header.payload_size);
  }
}

TEST_CASE("the worked example frame: create room lobby as alice", "[tcrp]") {
  const byte_vector expected = from_hex(worked_example_hex);
  REQUIRE(expected.size() == 32 + 5 + 20);

  CHECK(encode_frame(static_cast<std::uint8_t>(operation::create_room), frame_state::request, "lobby",
                     R"({"username":"alice"})") == expected);
  CHECK(chat_test::tcrp_frame(1, 0, "lobby", R"({"username":"alice"})") == expected);

  const tcrp_header h = decode(byte_vector(expected.begin(), expected.begin() + 32));
  CHECK(same(h, {5, 1, 0, 20}));
  CHECK(check_header(h, tcrp_direction::to_server, default_max_payload) == boost::system::error_code{});
}

TEST_CASE("encode_frame writes an error reply with an empty room name", "[tcrp]") {
  const byte_vector frame =
      encode_frame(static_cast<std::uint8_t>(operation::join_room), frame_state::response, "", "{}");
  CHECK(frame == from_hex("00 02 01 00*28 02 7b 7d"));
}

TEST_CASE("a 29-byte size with any byte above the low eight set reads as too large, not truncated", "[tcrp]") {
  for (std::size_t high = 0; high < tcrp_size_field_bytes - 8; ++high) {
    INFO("non-zero size byte at field offset " << high);
    byte_vector bytes = from_hex("05 01 00 00*28 05");  // low byte says 5 ...
    bytes[3 + high] = 0x01;                             // ... but the real size is 2^k + 5
    const tcrp_header h = decode(bytes);
    CHECK(h.payload_size == max_u64);
    CHECK(check_header(h, tcrp_direction::to_server, default_max_payload) == errc::payload_too_large);
    tcrp_header as_response = h;
    as_response.state = 1;
    CHECK(check_header(as_response, tcrp_direction::to_client, default_max_payload) == errc::payload_too_large);
  }
  // Only the lowest eight bytes set: representable, and still far over the limit.
  const tcrp_header h = decode(from_hex("05 01 00 00*21 ff*8"));
  CHECK(h.payload_size == max_u64);
  CHECK(check_header(h, tcrp_direction::to_server, default_max_payload) == errc::payload_too_large);
}

TEST_CASE("check_header accepts exactly what each direction allows", "[tcrp]") {
  using dir = tcrp_direction;
  struct check_case {
    const char* name;
    tcrp_header header;
    dir direction;
    std::size_t max_payload;
    boost::system::error_code expected;
  };
  const boost::system::error_code ok{};
  const check_case cases[] = {
      {"create request", {5, 1, 0, 20}, dir::to_server, 8192, ok},
      {"join request", {5, 2, 0, 20}, dir::to_server, 8192, ok},
      {"request with an empty payload", {5, 1, 0, 0}, dir::to_server, 8192, ok},
      {"payload exactly at the default maximum", {5, 1, 0, 8192}, dir::to_server, default_max_payload, ok},
      {"payload one over the default maximum", {5, 1, 0, 8193}, dir::to_server, default_max_payload,
       errc::payload_too_large},
      {"payload exactly at a configured maximum", {5, 1, 0, 100}, dir::to_server, 100, ok},
      {"payload one over a configured maximum", {5, 1, 0, 101}, dir::to_server, 100, errc::payload_too_large},
      {"client: payload one over its maximum", {5, 1, 2, 101}, dir::to_client, 100, errc::payload_too_large},
      {"request with RoomNameSize 0", {0, 1, 0, 20}, dir::to_server, 8192, errc::empty_room_name},
      {"operation 0", {5, 0, 0, 20}, dir::to_server, 8192, errc::unknown_operation},
      {"operation 4", {5, 4, 0, 20}, dir::to_server, 8192, errc::unknown_operation},
      {"operation 255", {5, 255, 0, 20}, dir::to_server, 8192, errc::unknown_operation},
      {"client: operation 4", {5, 4, 1, 20}, dir::to_client, 8192, errc::unknown_operation},
      {"server reading a response", {5, 1, 1, 20}, dir::to_server, 8192, errc::unknown_state},
      {"server reading a completion", {5, 1, 2, 20}, dir::to_server, 8192, errc::unknown_state},
      {"server reading state 3", {5, 1, 3, 20}, dir::to_server, 8192, errc::unknown_state},
      {"client reading a request", {5, 1, 0, 20}, dir::to_client, 8192, errc::unknown_state},
      {"client reading state 3", {5, 1, 3, 20}, dir::to_client, 8192, errc::unknown_state},
      {"client reading state 255", {5, 2, 255, 20}, dir::to_client, 8192, errc::unknown_state},
      {"client: response", {5, 1, 1, 20}, dir::to_client, 8192, ok},
      {"client: completion", {5, 2, 2, 20}, dir::to_client, 8192, ok},
      {"client: error response with an empty room", {0, 1, 1, 20}, dir::to_client, 8192, ok},
      {"client: completion with an empty room", {0, 1, 2, 20}, dir::to_client, 8192, errc::empty_room_name},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(check_header(c.header, c.direction, c.max_payload) == c.expected);
  }
}
