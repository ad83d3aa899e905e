#include "udp_sender.hpp"

#include "net_address.hpp"

#include <cerrno>

namespace chat_server {

namespace {
// Each failed attempt consumes one pending report, and this datagram was never sent: try again,
// within a bound (a flood of forged reports must not hold a sender forever).
constexpr int max_earlier_errors = 64;
}  // namespace

bool reports_earlier_error(int error) noexcept {
  return error == ECONNREFUSED || error == EHOSTUNREACH || error == ENETUNREACH || error == EHOSTDOWN ||
         error == ENETDOWN;
}

void udp_sender::send(const libchat::peer_address& to, libchat::byte_view datagram) noexcept {
  sockaddr_storage addr;
  const socklen_t len = to_sockaddr(to, ipv6_, addr);
  if (len == 0) {
    stats_.add(counter::send_error);
    return;
  }
  ssize_t n = 0;
  for (int attempt = 0; attempt < max_earlier_errors; ++attempt) {
    n = ::sendto(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&addr), len);
    // With IP_RECVERR, an ICMP report about an *earlier* datagram (to some other member) fails the
    // next send on the socket and is consumed by it. That error is not about this datagram: note
    // it for the receive path and send again.
    if (n >= 0 || !reports_earlier_error(errno)) break;
    error_reported_.store(true, std::memory_order_release);
  }
  if (n >= 0) {
    stats_.add(counter::sent);
  } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
    stats_.add(counter::send_would_block);
  } else {
    stats_.add(counter::send_error);
  }
}

void udp_sender::send_many(mmsghdr* messages, std::size_t count) noexcept {
  std::size_t done = 0;
  int earlier_errors = 0;
  while (done < count) {
    const int n = ::sendmmsg(fd_, messages + done, static_cast<unsigned>(count - done), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      stats_.add(counter::sent, static_cast<std::uint64_t>(n));
      done += static_cast<std::size_t>(n);
      continue;
    }
    const int error = errno;
    if (reports_earlier_error(error) && earlier_errors++ < max_earlier_errors) {
      // As in send(): a report about an earlier datagram, consumed by this call.
      error_reported_.store(true, std::memory_order_release);
      continue;
    }
    if (error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS) {
      // The socket buffer is full: the rest would only be late. Drop and count them.
      stats_.add(counter::send_would_block, count - done);
      return;
    }
    stats_.add(counter::send_error);  // this message only; go on with the next
    ++done;
  }
}

}  // namespace chat_server
