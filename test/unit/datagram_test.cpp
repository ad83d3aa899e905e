#include "libchat/datagram.hpp"

#include <catch2/catch.hpp>

#include "support/catch_strings.hpp"
#include "support/frames.hpp"
#include "support/grind.hpp"
#include "support/hex.hpp"

#include <string>

using namespace libchat;
using chat_test::byte_vector;
using chat_test::concat;
using chat_test::from_hex;
using chat_test::to_bytes;

namespace {

byte_vector text_bytes(byte_view b) { return {b.begin(), b.end()}; }

}  // namespace

TEST_CASE("client datagrams encode and decode to the same bytes in both directions", "[datagram]") {
  struct client_case {
    const char* name;
    std::string room;
    std::string token;
    std::string message;
    const char* hex;
  };
  const client_case cases[] = {
      {"chat text", "lobby", "tok", "hi", "05 03 | 6c 6f 62 62 79 | 74 6f 6b | 68 69"},
      {"keepalive (empty message)", "r", "t", "", "01 01 | 72 | 74"},
      {"control leave", "r", "t", chat_test::control_message(R"({"type":"leave"})"),
       "01 01 | 72 | 74 | 00 7b 22 74 79 70 65 22 3a 22 6c 65 61 76 65 22 7d"},
      {"non-ASCII text", "r", "t", "\xc3\xa9", "01 01 | 72 | 74 | c3 a9"},
      {"255-byte room and token", std::string(255, 'r'), std::string(255, 't'), "x", "ff ff 72*255 74*255 78"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const byte_vector bytes = from_hex(c.hex);

    const auto decoded = decode_client_datagram(bytes);
    REQUIRE(decoded.has_value());
    CHECK(decoded->room == c.room);
    CHECK(decoded->token == c.token);
    CHECK_FALSE(decoded->sealed);  // tokens of 8 bytes are session ids: none of these
    CHECK(text_bytes(decoded->message) == to_bytes(c.message));

    byte_vector out(max_client_datagram, 0xee);
    const auto size = encode_client_datagram(c.room, c.token, as_bytes(c.message), out);
    REQUIRE(size.has_value());
    out.resize(*size);
    CHECK(out == bytes);
  }
}

TEST_CASE("a client datagram whose length fields lie is malformed", "[datagram]") {
  struct lie_case {
    const char* name;
    const char* hex;
  };
  const lie_case cases[] = {
      {"empty datagram", ""},
      {"only RoomNameSize", "05"},
      {"RoomNameSize 0", "00 01 | 74 | 68 69"},
      {"TokenSize 0", "01 00 | 72 | 68 69"},
      {"both sizes 0", "00 00 | 68 69"},
      {"both sizes 0 and nothing else", "00 00"},
      {"RoomNameSize larger than the datagram", "ff 01 | 72 | 74"},
      {"TokenSize larger than the datagram", "01 ff | 72 | 74"},
      {"sizes one more than the datagram holds", "02 02 | 72 72 | 74"},
      {"sizes larger than any datagram", "ff ff | 72 74"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto r = decode_client_datagram(from_hex(c.hex));
    REQUIRE(r.has_error());
    CHECK(r.error() == errc::malformed);
  }
}

TEST_CASE("every truncation of a client datagram into its length-declared part is malformed", "[datagram]") {
  const byte_vector datagram = chat_test::client_datagram_bytes("lobby", "AQIDBAUGBwgAAQIDBAUGBwgJCgsMDQ4P", "hello");
  const std::size_t declared = 2 + 5 + 32;
  chat_test::for_each_truncation(datagram, [&](byte_view prefix) {
    INFO("truncated to " << prefix.size() << " bytes");
    const auto r = decode_client_datagram(prefix);
    if (prefix.size() < declared) {
      REQUIRE(r.has_error());
      CHECK(r.error() == errc::malformed);
    } else {
      // The message has no length field: a shorter message is still a datagram.
      REQUIRE(r.has_value());
      CHECK(r->room == "lobby");
      CHECK(r->message.size() == prefix.size() - declared);
    }
  });
}

TEST_CASE("a RoomNameSize smaller than the real room shifts the fields but stays in bounds", "[datagram]") {
  // The framing cannot see this lie; the room lookup and token check downstream reject it.
  const byte_vector datagram = from_hex("03 03 | 6c 6f 62 62 79 | 74 6f 6b");
  const auto r = decode_client_datagram(datagram);  // views into `datagram`
  REQUIRE(r.has_value());
  CHECK(r->room == "lob");
  CHECK(r->token == "byt");
  CHECK(text_bytes(r->message) == to_bytes("ok"));
}

TEST_CASE("client datagrams: 4096 bytes is the limit", "[datagram]") {
  const std::string message_4092(4092, 'm');
  const byte_vector at_limit = chat_test::client_datagram_bytes("r", "t", message_4092);
  REQUIRE(at_limit.size() == 4096);
  const auto ok = decode_client_datagram(at_limit);
  REQUIRE(ok.has_value());
  CHECK(ok->message.size() == 4092);

  const byte_vector over = chat_test::client_datagram_bytes("r", "t", message_4092 + "m");
  REQUIRE(over.size() == 4097);
  const auto r = decode_client_datagram(over);
  REQUIRE(r.has_error());
  CHECK(r.error() == errc::oversize);

  // Oversize is reported before the length fields are even looked at.
  byte_vector lying_and_over(4097, 0);
  const auto r2 = decode_client_datagram(lying_and_over);
  REQUIRE(r2.has_error());
  CHECK(r2.error() == errc::oversize);
}

TEST_CASE("encode_client_datagram refuses what it cannot frame", "[datagram]") {
  byte_vector out(max_client_datagram + 100);
  const std::string message_4092(4092, 'm');

  const auto ok = encode_client_datagram("r", "t", as_bytes(message_4092), out);
  REQUIRE(ok.has_value());
  CHECK(*ok == 4096);

  struct refuse_case {
    const char* name;
    std::string room;
    std::string token;
    std::size_t message_size;
    std::size_t out_size;
    errc expected;
  };
  const refuse_case cases[] = {
      {"4097 bytes", "r", "t", 4093, out.size(), errc::oversize},
      {"output buffer one byte short", "r", "t", 10, 2 + 1 + 1 + 10 - 1, errc::oversize},
      {"empty room", "", "t", 1, out.size(), errc::malformed},
      {"empty token", "r", "", 1, out.size(), errc::malformed},
      {"256-byte room", std::string(256, 'r'), "t", 1, out.size(), errc::malformed},
      {"256-byte token", "r", std::string(256, 't'), 1, out.size(), errc::malformed},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const std::string message(c.message_size, 'm');
    const auto r = encode_client_datagram(c.room, c.token, as_bytes(message), mutable_byte_view(out).first(c.out_size));
    REQUIRE(r.has_error());
    CHECK(r.error() == c.expected);
  }

  // A buffer of exactly the datagram's size is enough.
  byte_vector exact(2 + 1 + 1 + 10);
  const auto fits = encode_client_datagram("r", "t", as_bytes(std::string(10, 'm')), exact);
  REQUIRE(fits.has_value());
  CHECK(*fits == exact.size());
}

TEST_CASE("server datagrams encode and decode to the same bytes in both directions", "[datagram]") {
  struct server_case {
    const char* name;
    std::string sender;
    std::string text;
    bool notice;
    const char* hex;
  };
  const server_case cases[] = {
      {"chat from alice", "alice", "hi", false, "05 | 61 6c 69 63 65 | 68 69"},
      {"notice (SenderNameSize 0)", "", R"({"event":"pong"})", true,
       "00 | 7b 22 65 76 65 6e 74 22 3a 22 70 6f 6e 67 22 7d"},
      {"empty text", "a", "", false, "01 | 61"},
      {"255-byte sender", std::string(255, 's'), "x", false, "ff 73*255 78"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const byte_vector bytes = from_hex(c.hex);

    const auto decoded = decode_server_datagram(bytes);
    REQUIRE(decoded.has_value());
    CHECK(decoded->sender == c.sender);
    CHECK(text_bytes(decoded->text) == to_bytes(c.text));
    CHECK(decoded->is_notice() == c.notice);

    byte_vector out(max_server_datagram, 0xee);
    const auto size = encode_server_datagram(c.sender, as_bytes(c.text), out);
    REQUIRE(size.has_value());
    out.resize(*size);
    CHECK(out == bytes);
  }
}

TEST_CASE("a server datagram whose SenderNameSize lies is malformed", "[datagram]") {
  for (const char* hex : {"", "01", "05 61 6c 69 63", "ff 61"}) {
    INFO(hex);
    const auto r = decode_server_datagram(from_hex(hex));
    REQUIRE(r.has_error());
    CHECK(r.error() == errc::malformed);
  }
  const byte_vector datagram = chat_test::server_datagram_bytes("alice", "hello");
  chat_test::for_each_truncation(datagram, [&](byte_view prefix) {
    INFO("truncated to " << prefix.size() << " bytes");
    const auto r = decode_server_datagram(prefix);
    if (prefix.size() < 1 + 5) {
      REQUIRE(r.has_error());
      CHECK(r.error() == errc::malformed);
    } else {
      REQUIRE(r.has_value());
      CHECK(r->sender == "alice");
    }
  });
}

TEST_CASE("server datagrams: 4094 bytes is the limit", "[datagram]") {
  const byte_vector at_limit = chat_test::server_datagram_bytes("alice", std::string(4094 - 6, 'x'));
  REQUIRE(at_limit.size() == 4094);
  CHECK(decode_server_datagram(at_limit).has_value());

  const byte_vector over = chat_test::server_datagram_bytes("alice", std::string(4095 - 6, 'x'));
  const auto r = decode_server_datagram(over);
  REQUIRE(r.has_error());
  CHECK(r.error() == errc::oversize);

  byte_vector out(max_server_datagram + 100);
  const auto ok = encode_server_datagram("alice", as_bytes(std::string(4088, 'x')), out);
  REQUIRE(ok.has_value());
  CHECK(*ok == 4094);
  const auto too_long = encode_server_datagram("alice", as_bytes(std::string(4089, 'x')), out);
  REQUIRE(too_long.has_error());
  CHECK(too_long.error() == errc::too_long);
  byte_vector small(10);
  const auto short_buffer = encode_server_datagram("alice", as_bytes(std::string(5, 'x')), small);
  REQUIRE(short_buffer.has_error());
  CHECK(short_buffer.error() == errc::too_long);
}

TEST_CASE("max_text_bytes is what fits a server datagram after the sender's name", "[datagram]") {
  CHECK(max_text_bytes(0) == 4093);
  CHECK(max_text_bytes(5) == 4088);
  CHECK(max_text_bytes(255) == 3838);
  byte_vector out(max_server_datagram);
  for (std::size_t sender_size : {std::size_t{1}, std::size_t{5}, std::size_t{200}, std::size_t{255}}) {
    INFO("sender of " << sender_size << " bytes");
    const std::string sender(sender_size, 's');
    const std::string fits(max_text_bytes(sender_size), 'x');
    const auto ok = encode_server_datagram(sender, as_bytes(fits), out);
    REQUIRE(ok.has_value());
    CHECK(*ok == max_server_datagram);
    const auto over = encode_server_datagram(sender, as_bytes(fits + "x"), out);
    REQUIRE(over.has_error());
    CHECK(over.error() == errc::too_long);
  }
}

TEST_CASE("classify_message tells keepalive, control and chat apart by the first byte", "[datagram]") {
  CHECK(classify_message({}) == message_kind::keepalive);
  CHECK(classify_message(from_hex("00")) == message_kind::control);
  CHECK(classify_message(as_bytes(chat_test::control_message(R"({"type":"leave"})"))) == message_kind::control);
  CHECK(classify_message(as_bytes("hi")) == message_kind::chat);
  CHECK(classify_message(from_hex("01 00")) == message_kind::chat);
}
