// Small socket helpers for chat-bench: addresses, non-blocking sockets, descriptor limits.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace chat_bench {

struct endpoint {
  sockaddr_storage address{};
  socklen_t length = 0;

  int family() const noexcept { return address.ss_family; }
  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&address); }
  std::uint16_t port() const noexcept;
  endpoint with_port(std::uint16_t port) const noexcept;
  std::string to_string() const;
};

/// Resolves "HOST:PORT" or "[V6]:PORT" (numeric hosts or names). Throws std::runtime_error.
endpoint parse_endpoint(const std::string& host_port);
/// Resolves host and port given apart.
endpoint make_endpoint(const std::string& host, std::uint16_t port);
/// The same address with port 0, for binding a socket to the same local address.
endpoint any_port(const endpoint& e);

/// A loopback TCP port that is free now (bound and released at once).
std::uint16_t free_tcp_port();

/// Raises RLIMIT_NOFILE's soft limit to `wanted` (past the hard limit only if the process may
/// raise that, as root may; otherwise up to it); returns the limit in effect.
std::uint64_t raise_fd_limit(std::uint64_t wanted);

/// Closes fd if it is open and sets it to -1.
void close_fd(int& fd) noexcept;

}  // namespace chat_bench
