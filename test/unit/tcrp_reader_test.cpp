#include "libchat/tcrp_reader.hpp"

#include <catch2/catch.hpp>

#include "support/catch_strings.hpp"
#include "support/frames.hpp"
#include "support/grind.hpp"
#include "support/hex.hpp"

#include <string>

using namespace libchat;
using chat_test::byte_vector;
using chat_test::concat;
using chat_test::feed;
using chat_test::feed_bytewise;
using chat_test::from_hex;
using chat_test::tcrp_frame;
using status = tcrp_reader::status;

namespace {

constexpr std::uint8_t create = 1;
constexpr std::uint8_t join = 2;
constexpr std::uint8_t request = 0;
constexpr std::uint8_t response = 1;
constexpr std::uint8_t completion = 2;

struct frame_case {
  const char* name;
  tcrp_direction direction;
  byte_vector bytes;
  tcrp_header header;
  std::string room;
  std::string payload;
};

std::vector<frame_case> valid_frames() {
  const std::string completion_json = R"({"status":201,"token":"AQIDBAUGBwgAAQIDBAUGBwgJCgsMDQ4P","udp_port":9000,"host":true})";
  return {
      {"create request (the worked example)", tcrp_direction::to_server,
       tcrp_frame(create, request, "lobby", R"({"username":"alice"})"), {5, create, request, 20}, "lobby",
       R"({"username":"alice"})"},
      {"join request with an empty payload", tcrp_direction::to_server, tcrp_frame(join, request, "r", ""),
       {1, join, request, 0}, "r", ""},
      {"join request to a non-ASCII room", tcrp_direction::to_server,
       tcrp_frame(join, request, "caf\xc3\xa9", R"({"username":"bob"})"), {5, join, request, 18}, "caf\xc3\xa9",
       R"({"username":"bob"})"},
      {"accepted response", tcrp_direction::to_client,
       tcrp_frame(create, response, "lobby", R"({"status":202,"message":"ok"})"), {5, create, response, 29},
       "lobby", R"({"status":202,"message":"ok"})"},
      {"completion", tcrp_direction::to_client, tcrp_frame(create, completion, "lobby", completion_json),
       {5, create, completion, completion_json.size()}, "lobby", completion_json},
      {"error response with an empty room", tcrp_direction::to_client,
       tcrp_frame(join, response, "", R"({"status":400,"error":"bad_request","message":"m"})"),
       {0, join, response, 50}, "", R"({"status":400,"error":"bad_request","message":"m"})"},
  };
}

void check_frame(tcrp_reader& reader, const frame_case& c) {
  REQUIRE(reader.state() == status::frame_ready);
  REQUIRE(reader.header());
  CHECK(reader.header()->room_name_size == c.header.room_name_size);
  CHECK(reader.header()->operation == c.header.operation);
  CHECK(reader.header()->state == c.header.state);
  CHECK(reader.header()->payload_size == c.header.payload_size);
  CHECK(reader.room() == c.room);
  CHECK(reader.payload() == c.payload);
  CHECK(reader.prepare().empty());
}

}  // namespace

TEST_CASE("tcrp_reader reads a whole frame delivered in one piece", "[tcrp_reader]") {
  for (const auto& c : valid_frames()) {
    INFO(c.name);
    tcrp_reader reader(c.direction, default_max_payload);
    CHECK(reader.state() == status::need_more);
    CHECK_FALSE(reader.header());
    const auto fed = feed(reader, c.bytes);
    CHECK(fed.consumed == c.bytes.size());
    check_frame(reader, c);
  }
}

TEST_CASE("tcrp_reader gives the same frame at every two-piece split", "[tcrp_reader]") {
  for (const auto& c : valid_frames()) {
    chat_test::for_each_split(c.bytes, [&](byte_view first, byte_view second) {
      INFO(c.name << ", split after " << first.size() << " bytes");
      tcrp_reader reader(c.direction, default_max_payload);
      feed(reader, first);
      if (first.size() < c.bytes.size()) CHECK(reader.state() == status::need_more);
      feed(reader, second);
      check_frame(reader, c);
    });
  }
}

TEST_CASE("tcrp_reader gives the same frame when fed one byte at a time", "[tcrp_reader]") {
  for (const auto& c : valid_frames()) {
    INFO(c.name);
    tcrp_reader reader(c.direction, default_max_payload);
    for (std::size_t i = 0; i < c.bytes.size(); ++i) {
      CHECK(reader.state() == status::need_more);
      // The header is known exactly when its 32 bytes are in, and not before.
      CHECK(reader.header().has_value() == (i >= tcrp_header_size));
      feed(reader, byte_view(c.bytes).subspan(i, 1));
    }
    check_frame(reader, c);
  }
}

TEST_CASE("tcrp_reader waits for more at every truncation of a valid frame", "[tcrp_reader]") {
  for (const auto& c : valid_frames()) {
    chat_test::for_each_truncation(c.bytes, [&](byte_view prefix) {
      INFO(c.name << ", truncated to " << prefix.size() << " bytes");
      tcrp_reader reader(c.direction, default_max_payload);
      const auto fed = feed(reader, prefix);
      CHECK(fed.consumed == prefix.size());
      CHECK(reader.state() == status::need_more);
      CHECK_FALSE(reader.prepare().empty());
      CHECK(reader.payload().empty());
    });
  }
}

TEST_CASE("tcrp_reader exposes the room name as soon as it is in, before the payload", "[tcrp_reader]") {
  const byte_vector frame = tcrp_frame(create, request, "lobby", R"({"username":"alice"})");
  tcrp_reader reader(tcrp_direction::to_server, default_max_payload);
  feed(reader, byte_view(frame).first(32 + 4));
  CHECK(reader.room().empty());
  feed(reader, byte_view(frame).subspan(36, 1));
  CHECK(reader.state() == status::need_more);
  CHECK(reader.room() == "lobby");
}

TEST_CASE("tcrp_reader hands out a room name only once it is known to be valid", "[tcrp_reader]") {
  const byte_vector frame = tcrp_frame(create, request, "lob\x07y", R"({"username":"alice"})");
  tcrp_reader reader(tcrp_direction::to_server, default_max_payload);
  feed(reader, byte_view(frame).first(32 + 5));
  CHECK(reader.state() == status::need_more);
  CHECK(reader.room().empty());
  feed(reader, byte_view(frame).subspan(32 + 5));
  REQUIRE(reader.state() == status::failed);
  CHECK(reader.error() == errc::control_character);
  CHECK(reader.room().empty());
}

TEST_CASE("tcrp_reader rejects bytes after the declared payload", "[tcrp_reader]") {
  for (const auto& c : valid_frames()) {
    // Only a request is alone on its stream; replies are followed by more frames (next test).
    if (c.direction != tcrp_direction::to_server) continue;
    // A 33-byte frame is the one size whose extra byte the first read cannot hold: see below.
    if (c.bytes.size() == tcrp_header_size + 1) continue;
    const byte_vector with_one_more = concat({c.bytes, from_hex("7b")});
    chat_test::for_each_split(with_one_more, [&](byte_view first, byte_view second) {
      INFO(c.name << " plus one byte, split after " << first.size() << " bytes");
      tcrp_reader reader(c.direction, default_max_payload);
      feed(reader, first);
      if (first.size() == c.bytes.size()) {
        // The frame ended exactly with a read: the reader is done and reads no further, so a
        // byte in a later read is the adapter's to notice.
        CHECK(reader.state() == status::frame_ready);
        CHECK(feed(reader, second).consumed == 0);
        return;
      }
      feed(reader, second);
      REQUIRE(reader.state() == status::failed);
      CHECK(reader.error() == errc::trailing_bytes);
      CHECK(reader.prepare().empty());
      CHECK(reader.payload().empty());
      CHECK(reader.room() == c.room);  // still there for the error reply
    });

    INFO(c.name << " followed by a second frame in the same read");
    const byte_vector two_frames = concat({c.bytes, c.bytes});
    tcrp_reader reader(c.direction, default_max_payload);
    const auto fed = feed(reader, two_frames);
    CHECK(reader.state() == status::failed);
    CHECK(reader.error() == errc::trailing_bytes);
    CHECK(fed.consumed == c.bytes.size() + 1);  // never reads further than one byte past the frame
  }
}

TEST_CASE("tcrp_reader accepts a payload of exactly its limit and rejects one more byte", "[tcrp_reader]") {
  const std::string at_limit(16, 'x');
  tcrp_reader ok(tcrp_direction::to_server, 16);
  feed(ok, tcrp_frame(create, request, "r", at_limit));
  CHECK(ok.state() == status::frame_ready);
  CHECK(ok.payload() == at_limit);

  tcrp_reader over(tcrp_direction::to_server, 16);
  feed(over, tcrp_frame(create, request, "r", at_limit + "x"));
  REQUIRE(over.state() == status::failed);
  CHECK(over.error() == errc::payload_too_large);
}

TEST_CASE("an oversized declared payload fails right after the header, without buffering the body",
          "[tcrp_reader]") {
  struct oversize_case {
    const char* name;
    byte_vector header;
  };
  const oversize_case cases[] = {
      {"one byte over 8192", from_hex("05 01 00 00*27 20 01")},
      {"2^29 bytes", from_hex("05 01 00 00*25 20 00 00 00")},
      {"largest 64-bit size", from_hex("05 01 00 00*21 ff*8")},
      {"high byte of the 29-byte field set", from_hex("05 01 00 01 00*27 05")},
      {"every size byte set", from_hex("05 01 00 ff*29")},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    // The header followed by plenty of body, as a peer would send it.
    const byte_vector stream = concat({c.header, byte_vector(10000, 'x')});

    {
      INFO("one byte at a time");
      tcrp_reader reader(tcrp_direction::to_server, default_max_payload);
      const auto fed = feed_bytewise(reader, byte_view(stream).first(31));
      CHECK(reader.state() == status::need_more);
      feed(reader, byte_view(stream).subspan(31, 1));
      REQUIRE(reader.state() == status::failed);
      CHECK(reader.error() == errc::payload_too_large);
      CHECK(reader.prepare().empty());
      CHECK(fed.largest_prepare <= tcrp_header_size + 1);
    }
    {
      INFO("all at once");
      tcrp_reader reader(tcrp_direction::to_server, default_max_payload);
      const auto fed = feed(reader, stream);
      REQUIRE(reader.state() == status::failed);
      CHECK(reader.error() == errc::payload_too_large);
      CHECK(fed.consumed <= tcrp_header_size + 1);
      CHECK(fed.largest_prepare <= tcrp_header_size + 1);
      // The header stays available so that the bad_request reply can echo the operation.
      REQUIRE(reader.header());
      CHECK(reader.header()->operation == create);
      CHECK(reader.header()->payload_size > default_max_payload);
      CHECK(reader.room().empty());
    }
    chat_test::for_each_split(byte_view(stream).first(40), [&](byte_view first, byte_view second) {
      INFO("split after " << first.size());
      tcrp_reader reader(tcrp_direction::to_server, default_max_payload);
      auto fed = feed(reader, first);
      fed = feed(reader, second, fed);
      REQUIRE(reader.state() == status::failed);
      CHECK(reader.error() == errc::payload_too_large);
      CHECK(fed.largest_prepare <= tcrp_header_size + 1);
    });
  }
}

TEST_CASE("tcrp_reader rejects a bad header at every split, and keeps it for the error reply", "[tcrp_reader]") {
  struct bad_header_case {
    const char* name;
    tcrp_direction direction;
    byte_vector bytes;
    errc expected;
  };
  const bad_header_case cases[] = {
      {"unknown operation", tcrp_direction::to_server, tcrp_frame(7, request, "lobby", "{}"),
       errc::unknown_operation},
      {"server reading a response", tcrp_direction::to_server, tcrp_frame(create, response, "lobby", "{}"),
       errc::unknown_state},
      {"client reading a request", tcrp_direction::to_client, tcrp_frame(create, request, "lobby", "{}"),
       errc::unknown_state},
      {"RoomNameSize 0 in a request", tcrp_direction::to_server, tcrp_frame(0, create, request, 2, "", "{}"),
       errc::empty_room_name},
      {"RoomNameSize 0 in a completion", tcrp_direction::to_client, tcrp_frame(0, join, completion, 2, "", "{}"),
       errc::empty_room_name},
  };
  for (const auto& c : cases) {
    chat_test::for_each_split(c.bytes, [&](byte_view first, byte_view second) {
      INFO(c.name << ", split after " << first.size());
      tcrp_reader reader(c.direction, default_max_payload);
      auto fed = feed(reader, first);
      fed = feed(reader, second, fed);
      REQUIRE(reader.state() == status::failed);
      CHECK(reader.error() == c.expected);
      CHECK(fed.consumed <= tcrp_header_size + 1);
      // The rejected header is still there, so that the error reply can echo its operation.
      REQUIRE(reader.header());
      CHECK(reader.header()->operation == c.bytes[1]);
      CHECK(reader.header()->state == c.bytes[2]);
      CHECK(reader.header()->room_name_size == c.bytes[0]);
      CHECK(reader.room().empty());
      CHECK(reader.payload().empty());
    });
  }
}

TEST_CASE("tcrp_reader rejects a room name that is not a valid name", "[tcrp_reader]") {
  struct room_case {
    const char* name;
    std::string room;
    errc expected;
  };
  const room_case cases[] = {
      {"invalid UTF-8", "lob\xc3\x28y", errc::invalid_utf8},
      {"lone continuation byte", "\x80", errc::invalid_utf8},
      {"multibyte sequence cut by the room's end", "lobby\xe2\x82", errc::invalid_utf8},
      {"overlong NUL", "a\xc0\x80", errc::invalid_utf8},
      {"BEL", "lob\x07" "by", errc::control_character},
      {"NUL", std::string("lob\0by", 6), errc::control_character},
      {"newline", "lobby\n", errc::control_character},
      {"DEL", "lobby\x7f", errc::control_character},
      {"C1 control", "lob\xc2\x85" "by", errc::control_character},
  };
  for (const auto& c : cases) {
    const byte_vector frame = tcrp_frame(create, request, c.room, R"({"username":"alice"})");
    chat_test::for_each_split(frame, [&](byte_view first, byte_view second) {
      INFO(c.name << ", split after " << first.size());
      tcrp_reader reader(tcrp_direction::to_server, default_max_payload);
      feed(reader, first);
      feed(reader, second);
      REQUIRE(reader.state() == status::failed);
      CHECK(reader.error() == c.expected);
      CHECK(reader.payload().empty());
      REQUIRE(reader.header());
      CHECK(reader.header()->operation == create);
      // The server echoes room() in its bad_request reply: a name that broke the rules must not
      // be handed out, or the reply itself would be a frame the client's reader rejects.
      CHECK(reader.room().empty());
    });
  }
}

TEST_CASE("a reader of replies stops exactly at the end of its frame", "[tcrp_reader]") {
  for (const auto& c : valid_frames()) {
    if (c.direction != tcrp_direction::to_client) continue;
    INFO(c.name << " followed by a second frame in the same read");
    const byte_vector two_frames = concat({c.bytes, c.bytes});
    tcrp_reader first(c.direction, default_max_payload);
    const auto fed = feed(first, two_frames);
    REQUIRE(first.state() == status::frame_ready);
    CHECK(fed.consumed == c.bytes.size());
    tcrp_reader second(c.direction, default_max_payload);
    feed(second, byte_view(two_frames).subspan(fed.consumed));
    CHECK(second.state() == status::frame_ready);
    CHECK(second.payload() == first.payload());
  }
}

TEST_CASE("a 33-byte frame is read before its extra byte can be seen, and its payload is always empty",
          "[tcrp_reader]") {
  // Before the header is in, the reader asks for 33 bytes (header + 1), so that it never buffers a
  // body it has not checked. A frame of exactly 33 bytes therefore completes without room for the
  // extra byte. This costs nothing: such a frame has a 1-byte room and an empty payload (or, to a
  // client, an empty room and a 1-byte payload), which is never a JSON object, so the payload
  // parser answers bad_request for it anyway.
  const byte_vector frame = tcrp_frame(join, request, "r", "");
  REQUIRE(frame.size() == 33);
  tcrp_reader reader(tcrp_direction::to_server, default_max_payload);
  const auto fed = feed(reader, concat({frame, from_hex("7b 7d")}));
  CHECK(fed.consumed == 33);
  CHECK(fed.largest_prepare == 33);
  REQUIRE(reader.state() == status::frame_ready);
  CHECK(reader.payload().empty());
}
