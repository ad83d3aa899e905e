#include "private_network.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace chat_test {
namespace {

// The kernel's struct in6_ifreq (linux/ipv6.h, which clashes with the C library's netinet/in.h).
struct in6_interface_request {
  in6_addr address;
  std::uint32_t prefix_length;
  int interface_index;
};

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("private network: " + what + ": " + std::strerror(errno));
}

}  // namespace

void enter_private_network(const std::vector<std::pair<std::string, unsigned>>& ipv6_addresses) {
  if (::unshare(CLONE_NEWNET) != 0) fail("unshare(CLONE_NEWNET) (the test suite runs as root)");

  const int v4 = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (v4 < 0) fail("socket");
  ifreq lo{};
  std::strncpy(lo.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(v4, SIOCGIFFLAGS, &lo) != 0) fail("SIOCGIFFLAGS lo");
  lo.ifr_flags = static_cast<short>(lo.ifr_flags | IFF_UP);
  if (::ioctl(v4, SIOCSIFFLAGS, &lo) != 0) fail("SIOCSIFFLAGS lo up");
  ::close(v4);

  const int v6 = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (v6 < 0) fail("socket AF_INET6");
  const int index = static_cast<int>(::if_nametoindex("lo"));
  for (const auto& [text, prefix] : ipv6_addresses) {
    in6_interface_request request{};
    if (::inet_pton(AF_INET6, text.c_str(), &request.address) != 1) {
      ::close(v6);
      throw std::runtime_error("private network: not an IPv6 address: " + text);
    }
    request.prefix_length = prefix;
    request.interface_index = index;
    if (::ioctl(v6, SIOCSIFADDR, &request) != 0) fail("adding " + text);
  }
  ::close(v6);
}

}  // namespace chat_test
