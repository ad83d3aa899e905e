#include "libchat/token.hpp"

#include "libchat/bytes.hpp"

#include <cryptopp/misc.h>
#include <cryptopp/osrng.h>

namespace libchat {
namespace {

constexpr char base64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::size_t raw_bytes = 8 + token_secret_bytes;  // 24 bytes → 32 characters, no padding

int decode_char(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

member_token generate_token() {
  std::array<std::uint8_t, raw_bytes> raw{};
  // Reads the kernel's CSPRNG (getrandom/urandom) on every call: thread-safe, no shared pool.
  CryptoPP::OS_GenerateRandomBlock(false, raw.data(), raw.size());
  member_token t;
  (void)load_big_endian(byte_view(raw).first(8), t.index);
  std::copy(raw.begin() + 8, raw.end(), t.secret.begin());
  return t;
}

std::string token_text(const member_token& token) {
  std::array<std::uint8_t, raw_bytes> raw{};
  store_big_endian(token.index, mutable_byte_view(raw).first(8));
  std::copy(token.secret.begin(), token.secret.end(), raw.begin() + 8);
  std::string out;
  out.reserve(token_text_size);
  for (std::size_t i = 0; i < raw.size(); i += 3) {
    const std::uint32_t v = (raw[i] << 16) | (raw[i + 1] << 8) | raw[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(base64url[(v >> shift) & 0x3f]);
  }
  return out;
}

std::optional<member_token> parse_token(std::string_view text) noexcept {
  if (text.size() != token_text_size) return std::nullopt;
  std::array<std::uint8_t, raw_bytes> raw{};
  for (std::size_t i = 0, o = 0; i < text.size(); i += 4, o += 3) {
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const int d = decode_char(text[i + k]);
      if (d < 0) return std::nullopt;
      v = (v << 6) | static_cast<std::uint32_t>(d);
    }
    raw[o] = static_cast<std::uint8_t>(v >> 16);
    raw[o + 1] = static_cast<std::uint8_t>(v >> 8);
    raw[o + 2] = static_cast<std::uint8_t>(v);
  }
  member_token t;
  (void)load_big_endian(byte_view(raw).first(8), t.index);
  std::copy(raw.begin() + 8, raw.end(), t.secret.begin());
  return t;
}

bool same_secret(const member_token& a, const member_token& b) noexcept {
  return CryptoPP::VerifyBufsEqual(a.secret.data(), b.secret.data(), token_secret_bytes);
}

}  // namespace libchat
