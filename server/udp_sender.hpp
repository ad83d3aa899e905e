// The one send path for chat datagrams: a non-blocking sendto on the socket's descriptor, safe to
// call from any room strand at once. A full socket buffer drops the datagram and counts it: a late
// datagram is worth less than the next one.
#pragma once

#include "counters.hpp"
#include "libchat/address.hpp"
#include "libchat/bytes.hpp"

#include <atomic>

#include <sys/socket.h>

namespace chat_server {

/// The errno values by which a socket with IP_RECVERR reports an ICMP error queued for it.
bool reports_earlier_error(int error) noexcept;

class udp_sender {
 public:
  udp_sender(int fd, bool ipv6, counters& stats) noexcept : fd_(fd), ipv6_(ipv6), stats_(stats) {}

  void send(const libchat::peer_address& to, libchat::byte_view datagram) noexcept;
  /// Sends `count` prepared messages with as few sendmmsg calls as the kernel allows. Messages
  /// the socket buffer cannot take are dropped and counted, as with send().
  void send_many(mmsghdr* messages, std::size_t count) noexcept;
  bool ipv6() const noexcept { return ipv6_; }

  /// True (once) if a send came upon an ICMP report for an earlier datagram since the last call:
  /// the receive path then reads the error queue to find out which member it concerns.
  bool take_error_report() noexcept { return error_reported_.exchange(false, std::memory_order_acquire); }

 private:
  int fd_;
  bool ipv6_;
  counters& stats_;
  std::atomic<bool> error_reported_{false};
};

}  // namespace chat_server
