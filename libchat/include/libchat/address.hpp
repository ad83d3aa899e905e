// Network addresses as plain values, so that the room logic can compare them without knowing about
// sockets. IPv4 addresses are stored IPv4-mapped (::ffff:a.b.c.d), so that the same host compares
// equal whichever socket family reported it.
#pragma once

#include "libchat/export.hpp"

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace libchat {

struct LIBCHAT_EXPORT ip_address {
  std::array<std::uint8_t, 16> bytes{};

  static ip_address from_v4(std::array<std::uint8_t, 4> v4) noexcept;
  static ip_address from_v6(const std::array<std::uint8_t, 16>& v6) noexcept;
  /// "192.0.2.1" or "2001:db8::1" (no brackets, no zone); nullopt for anything else.
  static std::optional<ip_address> parse(std::string_view text) noexcept;
  bool is_v4() const noexcept;
  /// "127.0.0.1" or "::1".
  std::string to_string() const;

  friend bool operator==(const ip_address&, const ip_address&) = default;
};

/// An IP address and a UDP port: where a member's datagrams come from and go to.
struct LIBCHAT_EXPORT peer_address {
  ip_address ip;
  std::uint16_t port = 0;

  /// "127.0.0.1:4000" or "[::1]:4000".
  std::string to_string() const;

  friend bool operator==(const peer_address&, const peer_address&) = default;
};

struct LIBCHAT_EXPORT peer_address_hash {
  std::size_t operator()(const peer_address& p) const noexcept;
};

}  // namespace libchat
