// Byte-vector helpers for tests: hex literals, text as bytes, concatenation.
#pragma once

#include "libchat/bytes.hpp"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace chat_test {

using byte_vector = std::vector<std::uint8_t>;

namespace detail {

inline int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  throw std::invalid_argument(std::string("not a hex digit: ") + c);
}

inline void append_hex_run(std::string_view run, byte_vector& out) {
  if (run.size() % 2 != 0) throw std::invalid_argument("odd number of hex digits: " + std::string(run));
  for (std::size_t i = 0; i < run.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(hex_digit(run[i]) * 16 + hex_digit(run[i + 1])));
}

}  // namespace detail

/// Parses a hex literal such as "05 01 00 00*28 14 | 6c6f626279". Tokens are separated by spaces;
/// each is an even run of hex digits, or "XX*N" for the byte XX repeated N times. "|" is a
/// separator for the reader and is ignored.
inline byte_vector from_hex(std::string_view hex) {
  byte_vector out;
  std::size_t i = 0;
  while (i < hex.size()) {
    if (hex[i] == ' ' || hex[i] == '\n' || hex[i] == '|') {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < hex.size() && hex[end] != ' ' && hex[end] != '\n' && hex[end] != '|') ++end;
    const std::string_view token = hex.substr(i, end - i);
    if (const auto star = token.find('*'); star != std::string_view::npos) {
      byte_vector one;
      detail::append_hex_run(token.substr(0, star), one);
      if (one.size() != 1) throw std::invalid_argument("repeat needs one byte: " + std::string(token));
      const std::size_t count = std::stoul(std::string(token.substr(star + 1)));
      out.insert(out.end(), count, one[0]);
    } else {
      detail::append_hex_run(token, out);
    }
    i = end;
  }
  return out;
}

/// "05 01 00 …": lower-case hex, one space between bytes.
inline std::string to_hex(libchat::byte_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i) out += ' ';
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 0x0f];
  }
  return out;
}

/// The bytes of `text`, as a vector.
inline byte_vector to_bytes(std::string_view text) {
  const libchat::byte_view b = libchat::as_bytes(text);
  return {b.begin(), b.end()};
}

inline byte_vector concat(std::initializer_list<libchat::byte_view> parts) {
  byte_vector out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

/// `count` copies of `c`, as text.
inline std::string repeat(char c, std::size_t count) { return std::string(count, c); }

}  // namespace chat_test
