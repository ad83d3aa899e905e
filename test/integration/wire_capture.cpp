#include "wire_capture.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace chat_test {

wire_capture::wire_capture() {
  fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd_ < 0) return;
  // Loopback may be busy with other tests: a large buffer keeps the kernel from dropping ours.
  const int buffer = 64 << 20;
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
  sockaddr_ll where{};
  where.sll_family = AF_PACKET;
  where.sll_protocol = htons(ETH_P_ALL);
  where.sll_ifindex = static_cast<int>(::if_nametoindex("lo"));
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&where), sizeof where) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  reader_ = std::thread([this] {
    char buf[70000];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      std::lock_guard lock(mutex_);
      seen_.append(buf, static_cast<std::size_t>(n));
      ++packets_;
    }
  });
}

wire_capture::~wire_capture() {
  stop_ = true;
  if (reader_.joinable()) reader_.join();
  if (fd_ >= 0) ::close(fd_);
}

std::string wire_capture::bytes() const {
  std::lock_guard lock(mutex_);
  return seen_;
}

std::size_t wire_capture::dropped() const {
  tpacket_stats stats{};
  socklen_t length = sizeof stats;
  if (fd_ < 0 || ::getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &stats, &length) != 0) return 0;
  return stats.tp_drops;
}

std::size_t wire_capture::packets() const {
  std::lock_guard lock(mutex_);
  return packets_;
}

}  // namespace chat_test
