// Conversions between socket addresses and libchat's plain address values.
#pragma once

#include "libchat/address.hpp"

#include <boost/asio/ip/address.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

namespace chat_server {

libchat::ip_address to_ip(const boost::asio::ip::address& a) noexcept;
/// Fails (returns false) for address families other than IPv4 and IPv6.
bool to_peer(const sockaddr_storage& from, libchat::peer_address& out) noexcept;
/// Fills `out` for sending to `to` from a socket of the given family; returns the length, or 0
/// when the address cannot be reached from that family (an IPv6 peer on an IPv4 socket).
socklen_t to_sockaddr(const libchat::peer_address& to, bool ipv6_socket, sockaddr_storage& out) noexcept;

}  // namespace chat_server
