#include "net_address.hpp"

#include <cstring>

namespace chat_server {

libchat::ip_address to_ip(const boost::asio::ip::address& a) noexcept {
  if (a.is_v4()) return libchat::ip_address::from_v4(a.to_v4().to_bytes());
  return libchat::ip_address::from_v6(a.to_v6().to_bytes());
}

bool to_peer(const sockaddr_storage& from, libchat::peer_address& out) noexcept {
  if (from.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(from);
    std::array<std::uint8_t, 4> v4{};
    std::memcpy(v4.data(), &in.sin_addr, 4);
    out.ip = libchat::ip_address::from_v4(v4);
    out.port = ntohs(in.sin_port);
    return true;
  }
  if (from.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(from);
    std::array<std::uint8_t, 16> v6{};
    std::memcpy(v6.data(), &in6.sin6_addr, 16);
    out.ip = libchat::ip_address::from_v6(v6);
    out.port = ntohs(in6.sin6_port);
    return true;
  }
  return false;
}

socklen_t to_sockaddr(const libchat::peer_address& to, bool ipv6_socket, sockaddr_storage& out) noexcept {
  std::memset(&out, 0, sizeof out);
  if (!ipv6_socket) {
    if (!to.ip.is_v4()) return 0;
    auto& in = reinterpret_cast<sockaddr_in&>(out);
    in.sin_family = AF_INET;
    in.sin_port = htons(to.port);
    std::memcpy(&in.sin_addr, to.ip.bytes.data() + 12, 4);
    return sizeof(sockaddr_in);
  }
  auto& in6 = reinterpret_cast<sockaddr_in6&>(out);
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(to.port);
  std::memcpy(&in6.sin6_addr, to.ip.bytes.data(), 16);
  return sizeof(sockaddr_in6);
}

}  // namespace chat_server
