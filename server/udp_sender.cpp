#include "udp_sender.hpp"

#include "net_address.hpp"

#include <cerrno>

namespace chat_server {

void udp_sender::send(const libchat::peer_address& to, libchat::byte_view datagram) noexcept {
  sockaddr_storage addr;
  const socklen_t len = to_sockaddr(to, ipv6_, addr);
  if (len == 0) {
    stats_.add(counter::send_error);
    return;
  }
  const ssize_t n = ::sendto(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                             reinterpret_cast<const sockaddr*>(&addr), len);
  if (n >= 0) {
    stats_.add(counter::sent);
  } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
    stats_.add(counter::send_would_block);
  } else {
    // ECONNREFUSED here is an earlier ICMP error surfacing on this send; the receive path
    // attributes it to a member through the error queue.
    stats_.add(counter::send_error);
  }
}

}  // namespace chat_server
