// UTF-8 validation (RFC 3629) and the naming rules for rooms and users.
#pragma once

#include "libchat/bytes.hpp"
#include "libchat/error.hpp"
#include "libchat/export.hpp"

#include <string_view>

namespace libchat {

/// True when `text` is well-formed UTF-8: no overlong forms, no surrogates (U+D800–DFFF), nothing
/// above U+10FFFF, no truncated sequence at the end.
[[nodiscard]] LIBCHAT_EXPORT bool is_valid_utf8(byte_view text) noexcept;
[[nodiscard]] inline bool is_valid_utf8(std::string_view text) noexcept {
  return is_valid_utf8(as_bytes(text));
}

/// Checks a room name or username: 1–255 bytes, valid UTF-8, and no control characters (C0,
/// DEL, C1). Returns the first rule broken, or a default (success) error code.
[[nodiscard]] LIBCHAT_EXPORT boost::system::error_code check_name(std::string_view name) noexcept;

}  // namespace libchat
