#include "libchat/token.hpp"

#include "detail/base64url.hpp"
#include "libchat/bytes.hpp"

#include <cryptopp/misc.h>

namespace libchat {
namespace {
constexpr std::size_t raw_bytes = 8 + token_secret_bytes;  // 24 bytes → 32 characters, no padding
}  // namespace

member_token generate_token(random_source& random) {
  std::array<std::uint8_t, raw_bytes> raw{};
  random.fill(raw);
  member_token t;
  (void)load_big_endian(byte_view(raw).first(8), t.index);
  std::copy(raw.begin() + 8, raw.end(), t.secret.begin());
  return t;
}

std::string token_text(const member_token& token) {
  std::array<std::uint8_t, raw_bytes> raw{};
  store_big_endian(token.index, mutable_byte_view(raw).first(8));
  std::copy(token.secret.begin(), token.secret.end(), raw.begin() + 8);
  return detail::base64url_encode(raw);
}

std::optional<member_token> parse_token(std::string_view text) noexcept {
  // Runs for every plaintext datagram: decode on the stack, never on the heap.
  std::array<std::uint8_t, raw_bytes> raw{};
  if (text.size() != token_text_size || !detail::base64url_decode_exact(text, raw)) return std::nullopt;
  member_token t;
  (void)load_big_endian(byte_view(raw).first(8), t.index);
  std::copy(raw.begin() + 8, raw.end(), t.secret.begin());
  return t;
}

bool same_secret(const member_token& a, const member_token& b) noexcept {
  return CryptoPP::VerifyBufsEqual(a.secret.data(), b.secret.data(), token_secret_bytes);
}

}  // namespace libchat
