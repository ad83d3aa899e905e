// Member tokens: a public index, used to find the member, and a secret, compared in constant time.
// On the wire a token is the base64url form (no padding) of index (8 bytes, big-endian) ‖ secret
// (16 bytes): 32 printable characters, 192 bits of which 128 are secret.
#pragma once

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

/// A token from the operating system's CSPRNG. Thread-safe.
member_token generate_token();

std::string token_text(const member_token& token);
/// Parses the 32-character form; nullopt for anything else.
std::optional<member_token> parse_token(std::string_view text) noexcept;

/// Compares the secrets in time independent of where they differ.
bool same_secret(const member_token& a, const member_token& b) noexcept;

}  // namespace libchat
