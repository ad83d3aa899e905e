#include "libchat/utf8.hpp"

#include <catch2/catch.hpp>

#include "support/catch_strings.hpp"
#include "support/hex.hpp"

#include <string>
#include <vector>

using namespace libchat;
using chat_test::byte_vector;
using chat_test::concat;
using chat_test::from_hex;

namespace {

struct utf8_case {
  const char* name;
  const char* hex;
};

std::string repeat_text(std::string_view unit, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) out += unit;
  return out;
}

}  // namespace

TEST_CASE("is_valid_utf8 accepts well-formed text of every sequence length", "[utf8]") {
  const utf8_case cases[] = {
      {"empty", ""},
      {"ASCII", "68 65 6c 6c 6f"},
      {"NUL is a code point like any other", "00"},
      {"DEL", "7f"},
      {"2 bytes, smallest (U+0080)", "c2 80"},
      {"2 bytes, copyright sign", "c2 a9"},
      {"2 bytes, largest (U+07FF)", "df bf"},
      {"3 bytes, smallest (U+0800)", "e0 a0 80"},
      {"3 bytes, euro sign", "e2 82 ac"},
      {"3 bytes, just below the surrogates (U+D7FF)", "ed 9f bf"},
      {"3 bytes, just above the surrogates (U+E000)", "ee 80 80"},
      {"3 bytes, largest (U+FFFF)", "ef bf bf"},
      {"4 bytes, smallest (U+10000)", "f0 90 80 80"},
      {"4 bytes, emoji", "f0 9f 98 80"},
      {"4 bytes, largest (U+10FFFF)", "f4 8f bf bf"},
      {"mixed, longer than the 8-byte fast path", "61*9 c3 a9 61*8 e2 82 ac 61*7 f0 9f 98 80"},
  };
  for (const auto& c : cases) {
    INFO(c.name << ": " << c.hex);
    CHECK(is_valid_utf8(from_hex(c.hex)));
  }
}

TEST_CASE("is_valid_utf8 rejects every ill-formed sequence", "[utf8]") {
  const utf8_case cases[] = {
      {"overlong NUL, 2 bytes", "c0 80"},
      {"overlong, 2 bytes, C1 lead", "c1 bf"},
      {"overlong NUL, 3 bytes", "e0 80 80"},
      {"overlong U+07FF, 3 bytes", "e0 9f bf"},
      {"overlong NUL, 4 bytes", "f0 80 80 80"},
      {"overlong U+FFFF, 4 bytes", "f0 8f bf bf"},
      {"high surrogate U+D800", "ed a0 80"},
      {"low surrogate U+DFFF", "ed bf bf"},
      {"surrogate pair encoded as two 3-byte forms", "ed a0 bd ed b8 80"},
      {"above U+10FFFF", "f4 90 80 80"},
      {"F5 lead", "f5 80 80 80"},
      {"F7 lead", "f7 bf bf bf"},
      {"5-byte form", "f8 88 80 80 80"},
      {"6-byte form", "fc 84 80 80 80 80"},
      {"FE", "fe"},
      {"FF", "ff"},
      {"lone continuation 80", "80"},
      {"lone continuation BF", "bf"},
      {"continuation between ASCII", "61 80 61"},
      {"two continuations after a complete 2-byte sequence", "c3 a9 a9"},
      {"2-byte lead cut at the end", "c3"},
      {"3-byte sequence cut after 2", "e2 82"},
      {"4-byte sequence cut after 3", "f0 9f 98"},
      {"cut at the end after ASCII", "68 69 e2 82"},
      {"cut at the end after the fast path", "61*8 e2 82"},
      {"2-byte lead followed by ASCII", "c3 28"},
      {"3-byte lead, bad third byte", "e2 82 28"},
      {"4-byte lead, bad third byte", "f0 9f 28 80"},
      {"4-byte lead, bad fourth byte", "f0 9f 98 28"},
  };
  for (const auto& c : cases) {
    INFO(c.name << ": " << c.hex);
    CHECK_FALSE(is_valid_utf8(from_hex(c.hex)));
  }
}

TEST_CASE("every strict prefix of a multibyte sequence is invalid wherever it ends the text", "[utf8]") {
  const byte_vector sequences[] = {from_hex("c3 a9"), from_hex("e2 82 ac"), from_hex("f0 9f 98 80"),
                                   from_hex("f4 8f bf bf")};
  for (const auto& seq : sequences) {
    for (std::size_t lead = 0; lead <= 17; ++lead) {
      const byte_vector ascii(lead, 'a');
      CHECK(is_valid_utf8(concat({ascii, seq})));
      for (std::size_t cut = 1; cut < seq.size(); ++cut) {
        INFO(chat_test::to_hex(seq) << " cut to " << cut << " bytes after " << lead << " ASCII bytes");
        CHECK_FALSE(is_valid_utf8(concat({ascii, byte_view(seq).first(cut)})));
      }
    }
  }
}

TEST_CASE("an invalid byte is found at every offset, inside or after the ASCII fast path", "[utf8]") {
  for (std::size_t offset = 0; offset <= 20; ++offset) {
    for (const char* bad : {"80", "ff", "c0 80", "ed a0 80"}) {
      INFO(bad << " at offset " << offset);
      const byte_vector text = concat({byte_vector(offset, 'a'), from_hex(bad), byte_vector(9, 'b')});
      CHECK_FALSE(is_valid_utf8(text));
      // The string_view overload agrees.
      CHECK_FALSE(is_valid_utf8(std::string_view(as_text(text))));
    }
  }
}

TEST_CASE("check_name accepts 1-255 bytes of UTF-8 without control characters", "[utf8]") {
  const std::string names[] = {
      "a",
      "alice",
      "alice smith",
      "room #1 (test)",
      "Zo\xc3\xab",                                          // Zoë
      "\xe6\x97\xa5\xe6\x9c\xac",                            // 日本
      "\xf0\x9f\x98\x80",                                    // 😀
      "\xc2\xa0",                                            // U+00A0, just past C1
      chat_test::repeat('a', 255),
      repeat_text("\xc3\xa9", 127) + "x",                    // 255 bytes of mostly 2-byte characters
      "\xe2\x82\xac" + std::string(252, 'x'),                // 255 bytes, starting with a euro sign
  };
  for (const auto& name : names) {
    INFO("name: " << name << " (" << name.size() << " bytes)");
    CHECK(check_name(name) == boost::system::error_code{});
  }
}

TEST_CASE("check_name reports the rule a name breaks", "[utf8]") {
  struct name_case {
    const char* what;
    std::string name;
    errc expected;
  };
  const name_case cases[] = {
      {"empty", "", errc::empty_name},
      {"256 bytes", chat_test::repeat('a', 256), errc::name_too_long},
      {"256 bytes of 2-byte characters", repeat_text("\xc3\xa9", 128), errc::name_too_long},
      {"NUL", std::string("al\0ce", 5), errc::control_character},
      {"BEL", "al\x07" "ce", errc::control_character},
      {"tab", "al\tice", errc::control_character},
      {"newline at the end", "alice\n", errc::control_character},
      {"US (0x1F)", "\x1f", errc::control_character},
      {"DEL", "alice\x7f", errc::control_character},
      {"C1 NEL (C2 85)", "al\xc2\x85" "ce", errc::control_character},
      {"C1 first (C2 80)", "\xc2\x80", errc::control_character},
      {"C1 last (C2 9F)", "\xc2\x9f", errc::control_character},
      {"overlong NUL is invalid UTF-8, not a control character", "a\xc0\x80", errc::invalid_utf8},
      {"lone continuation", "a\x80", errc::invalid_utf8},
      {"surrogate", "\xed\xa0\x80", errc::invalid_utf8},
      {"cut at the end", "alice\xe2\x82", errc::invalid_utf8},
      {"above U+10FFFF", "\xf4\x90\x80\x80", errc::invalid_utf8},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    CHECK(check_name(c.name) == c.expected);
  }
}
