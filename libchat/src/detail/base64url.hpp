// base64url (RFC 4648 §5) without padding: tokens, keys and ciphertexts in JSON payloads.
#pragma once

#include "libchat/bytes.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace libchat::detail {

std::string base64url_encode(byte_view bytes);
/// nullopt for characters outside the alphabet, padding, or an impossible length.
std::optional<std::vector<std::uint8_t>> base64url_decode(std::string_view text);
/// Decodes into `out` without allocating; true only if `text` decodes to exactly out.size() bytes.
/// For the relay's hot path (tokens in every plaintext datagram).
bool base64url_decode_exact(std::string_view text, mutable_byte_view out) noexcept;

}  // namespace libchat::detail
