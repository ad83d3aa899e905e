#include "net.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace chat_bench {

std::uint16_t endpoint::port() const noexcept {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  return 0;
}

endpoint endpoint::with_port(std::uint16_t p) const noexcept {
  endpoint e = *this;
  if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&e.address)->sin_port = htons(p);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&e.address)->sin6_port = htons(p);
  return e;
}

std::string endpoint::to_string() const {
  char host[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&address)->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(port());
  }
  if (family() == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&address)->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(port());
  }
  return "?";
}

endpoint make_endpoint(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0 || !found) throw std::runtime_error("cannot resolve " + host + ": " + ::gai_strerror(rc));
  endpoint e;
  std::memcpy(&e.address, found->ai_addr, found->ai_addrlen);
  e.length = found->ai_addrlen;
  ::freeaddrinfo(found);
  return e;
}

endpoint parse_endpoint(const std::string& host_port) {
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos || colon + 1 == host_port.size()) {
    throw std::runtime_error("expected HOST:PORT, got '" + host_port + "'");
  }
  std::string host = host_port.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(host_port.substr(colon + 1), &used);
    if (used != host_port.size() - colon - 1 || port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    throw std::runtime_error("bad port in '" + host_port + "'");
  }
  return make_endpoint(host, static_cast<std::uint16_t>(port));
}

endpoint any_port(const endpoint& e) { return e.with_port(0); }

std::uint16_t free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot find a free TCP port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

std::uint64_t raise_fd_limit(std::uint64_t wanted) {
  rlimit r{};
  ::getrlimit(RLIMIT_NOFILE, &r);
  if (r.rlim_cur < wanted) {
    // Past the hard limit only with the privilege to raise it (root); otherwise up to it.
    rlimit raised{static_cast<rlim_t>(wanted), std::max<rlim_t>(r.rlim_max, static_cast<rlim_t>(wanted))};
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
      r.rlim_cur = std::min<rlim_t>(wanted, r.rlim_max);
      ::setrlimit(RLIMIT_NOFILE, &r);
    }
    ::getrlimit(RLIMIT_NOFILE, &r);
  }
  return r.rlim_cur;
}

void close_fd(int& fd) noexcept {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace chat_bench
