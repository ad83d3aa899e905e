#include "libchat/address.hpp"

#include <arpa/inet.h>

#include <cstdio>

namespace libchat {

ip_address ip_address::from_v4(std::array<std::uint8_t, 4> v4) noexcept {
  ip_address a;
  a.bytes[10] = 0xff;
  a.bytes[11] = 0xff;
  for (std::size_t i = 0; i < 4; ++i) a.bytes[12 + i] = v4[i];
  return a;
}

ip_address ip_address::from_v6(const std::array<std::uint8_t, 16>& v6) noexcept {
  ip_address a;
  a.bytes = v6;
  return a;
}

std::optional<ip_address> ip_address::parse(std::string_view text) noexcept {
  // inet_pton wants a terminated string; the longest textual IPv6 address is 45 characters.
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buffer[46] = {};
  text.copy(buffer, text.size());
  std::array<std::uint8_t, 4> v4{};
  if (inet_pton(AF_INET, buffer, v4.data()) == 1) return from_v4(v4);
  std::array<std::uint8_t, 16> v6{};
  if (inet_pton(AF_INET6, buffer, v6.data()) == 1) return from_v6(v6);
  return std::nullopt;
}

bool ip_address::is_v4() const noexcept {
  for (std::size_t i = 0; i < 10; ++i)
    if (bytes[i] != 0) return false;
  return bytes[10] == 0xff && bytes[11] == 0xff;
}

std::string ip_address::to_string() const {
  char out[48];
  if (is_v4()) {
    std::snprintf(out, sizeof out, "%u.%u.%u.%u", bytes[12], bytes[13], bytes[14], bytes[15]);
    return out;
  }
  // Plain eight-group form: logs only, no "::" compression needed.
  std::string s;
  for (std::size_t i = 0; i < 16; i += 2) {
    std::snprintf(out, sizeof out, "%s%x", i ? ":" : "", (bytes[i] << 8) | bytes[i + 1]);
    s += out;
  }
  return s;
}

std::string peer_address::to_string() const {
  return (ip.is_v4() ? ip.to_string() : "[" + ip.to_string() + "]") + ":" + std::to_string(port);
}

std::size_t peer_address_hash::operator()(const peer_address& p) const noexcept {
  // FNV-1a over address and port. Endpoints are learned only from authenticated datagrams, so an
  // attacker cannot fill a table with chosen collisions.
  std::uint64_t h = 1469598103934665603ull;
  for (std::uint8_t b : p.ip.bytes) h = (h ^ b) * 1099511628211ull;
  h = (h ^ (p.port & 0xff)) * 1099511628211ull;
  h = (h ^ (p.port >> 8)) * 1099511628211ull;
  return static_cast<std::size_t>(h);
}

}  // namespace libchat
