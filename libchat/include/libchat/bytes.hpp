// Byte spans and big-endian integer helpers shared by every codec.
#pragma once

#include "libchat/export.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace libchat {

using byte_view = std::span<const std::uint8_t>;
using mutable_byte_view = std::span<std::uint8_t>;

/// Views text as bytes without copying.
inline byte_view as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// Views bytes as text without copying (no validation).
inline std::string_view as_text(byte_view b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// Reads an unsigned big-endian integer of `in.size()` bytes. Returns false when the value does
/// not fit in 64 bits (any non-zero byte above the low eight), leaving `out` untouched.
[[nodiscard]] LIBCHAT_EXPORT bool load_big_endian(byte_view in, std::uint64_t& out) noexcept;

/// Writes `value` as an unsigned big-endian integer filling all of `out` (leading zero bytes).
/// Precondition: the value fits in out.size() bytes.
LIBCHAT_EXPORT void store_big_endian(std::uint64_t value, mutable_byte_view out) noexcept;

}  // namespace libchat
