#include "name_table.hpp"

#include <cryptopp/osrng.h>

#include <bit>
#include <cstring>

namespace chat_server {

namespace {

std::uint64_t load_le64(const std::uint8_t* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

struct sip_state {
  std::uint64_t v0, v1, v2, v3;

  void round() noexcept {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  }
  // Two compression rounds per 8-byte word, four finalisation rounds: SipHash-2-4.
  void absorb(std::uint64_t m) noexcept {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
};

}  // namespace

name_hasher::name_hasher() {
  std::array<std::uint8_t, 16> key{};
  CryptoPP::OS_GenerateRandomBlock(false, key.data(), key.size());
  *this = name_hasher(key);
}

name_hasher::name_hasher(const std::array<std::uint8_t, 16>& key) noexcept
    : k0_(load_le64(key.data())), k1_(load_le64(key.data() + 8)) {}

std::uint64_t name_hasher::operator()(std::string_view name) const noexcept {
  sip_state s{k0_ ^ 0x736f6d6570736575ULL, k1_ ^ 0x646f72616e646f6dULL, k0_ ^ 0x6c7967656e657261ULL,
              k1_ ^ 0x7465646279746573ULL};
  const auto* p = reinterpret_cast<const std::uint8_t*>(name.data());
  const std::size_t n = name.size();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) s.absorb(load_le64(p + i));
  // The last word: the remaining bytes, and the length's low byte on top.
  std::uint8_t tail[8] = {};
  std::memcpy(tail, p + i, n - i);
  tail[7] = static_cast<std::uint8_t>(n);
  s.absorb(load_le64(tail));
  s.v2 ^= 0xff;
  s.round();
  s.round();
  s.round();
  s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace chat_server
