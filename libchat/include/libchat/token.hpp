// Member tokens: a public index, used to find the member, and a secret, compared in constant time.
// On the wire a token is the base64url form (no padding) of index (8 bytes, big-endian) ‖ secret
// (16 bytes): 32 printable characters, 192 bits of which 128 are secret.
#pragma once

#include "libchat/export.hpp"
#include "libchat/random.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace libchat {

inline constexpr std::size_t token_secret_bytes = 16;
inline constexpr std::size_t token_text_size = 32;

struct member_token {
  std::uint64_t index = 0;
  std::array<std::uint8_t, token_secret_bytes> secret{};
};

/// A fresh token: 24 bytes from `random` (index, then secret). Thread-safe with system_random().
LIBCHAT_EXPORT member_token generate_token(random_source& random = system_random());

LIBCHAT_EXPORT std::string token_text(const member_token& token);
/// Parses the 32-character form; nullopt for anything else.
LIBCHAT_EXPORT std::optional<member_token> parse_token(std::string_view text) noexcept;

/// Compares the secrets in time independent of where they differ.
LIBCHAT_EXPORT bool same_secret(const member_token& a, const member_token& b) noexcept;

}  // namespace libchat
