// The one send path for chat datagrams: a non-blocking sendto on the socket's descriptor, safe to
// call from any room strand at once. A full socket buffer drops the datagram and counts it: a late
// datagram is worth less than the next one.
#pragma once

#include "counters.hpp"
#include "libchat/address.hpp"
#include "libchat/bytes.hpp"

namespace chat_server {

class udp_sender {
 public:
  udp_sender(int fd, bool ipv6, counters& stats) noexcept : fd_(fd), ipv6_(ipv6), stats_(stats) {}

  void send(const libchat::peer_address& to, libchat::byte_view datagram) noexcept;

 private:
  int fd_;
  bool ipv6_;
  counters& stats_;
};

}  // namespace chat_server
