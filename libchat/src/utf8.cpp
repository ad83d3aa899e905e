#include "libchat/utf8.hpp"

#include "libchat/limits.hpp"

namespace libchat {
namespace {

// Decodes one code point starting at text[i]; returns its length, or 0 if the sequence is not
// well-formed (RFC 3629 table 3-7: the second byte's range depends on the first byte).
std::size_t decode_one(byte_view text, std::size_t i, char32_t& cp) noexcept {
  const std::uint8_t b0 = text[i];
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t len = 0;
  std::uint8_t lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;        // no overlong 3-byte forms
    else if (b0 == 0xED) hi = 0x9F;   // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;        // no overlong 4-byte forms
    else if (b0 == 0xF4) hi = 0x8F;   // nothing above U+10FFFF
  } else {
    return 0;  // continuation byte, C0/C1 overlong lead, or F5–FF
  }
  if (text.size() - i < len) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const std::uint8_t b = text[i + k];
    if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  return len;
}

bool is_control(char32_t cp) noexcept { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

}  // namespace

bool is_valid_utf8(byte_view text) noexcept {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    // ASCII fast path, eight bytes at a time.
    while (i + 8 <= n) {
      std::uint64_t chunk = 0;
      for (std::size_t k = 0; k < 8; ++k) chunk |= static_cast<std::uint64_t>(text[i + k]) << (8 * k);
      if (chunk & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    char32_t cp = 0;
    const std::size_t len = decode_one(text, i, cp);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

boost::system::error_code check_name(std::string_view name) noexcept {
  if (name.empty()) return errc::empty_name;
  if (name.size() > max_name_bytes) return errc::name_too_long;
  const byte_view bytes = as_bytes(name);
  for (std::size_t i = 0; i < bytes.size();) {
    char32_t cp = 0;
    const std::size_t len = decode_one(bytes, i, cp);
    if (len == 0) return errc::invalid_utf8;
    if (is_control(cp)) return errc::control_character;
    i += len;
  }
  return {};
}

}  // namespace libchat
