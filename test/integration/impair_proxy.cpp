#include "impair_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <random>
#include <stdexcept>
#include <vector>

namespace chat_test {
namespace {

using clock_type = std::chrono::steady_clock;

sockaddr_in endpoint(const std::string& ip, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) throw std::runtime_error("bad address " + ip);
  return a;
}

int bound_udp(const std::string& ip) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  const auto local = endpoint(ip, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("impair_proxy: cannot bind UDP on " + ip);
  }
  const int buffer = 1 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  return fd;
}

}  // namespace

// One direction's random draws and held-back datagrams.
struct impair_proxy::direction {
  std::mt19937_64 rng;
  std::uniform_real_distribution<double> uniform{0.0, 1.0};
  struct held {
    clock_type::time_point due;
    std::vector<std::uint8_t> bytes;
    bool reordered;  // false: a duplicate
  };
  std::vector<held> queue;

  explicit direction(std::uint64_t seed) : rng(seed) {}
};

impair_proxy::impair_proxy(std::uint16_t server_port, impairment how, const std::string& ip)
    : server_port_(server_port), ip_(ip), how_(how) {
  client_fd_ = bound_udp(ip);
  upstream_fd_ = bound_udp(ip);
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(client_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { run(); });
}

impair_proxy::~impair_proxy() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  ::close(client_fd_);
  ::close(upstream_fd_);
}

impair_proxy::counts impair_proxy::upstream() const {
  std::lock_guard lock(mutex_);
  return up_;
}

impair_proxy::counts impair_proxy::downstream() const {
  std::lock_guard lock(mutex_);
  return down_;
}

void impair_proxy::run() {
  direction up(how_.seed), down(how_.seed ^ 0x9e3779b97f4a7c15ULL);
  const sockaddr_in server = endpoint(ip_, server_port_);
  std::optional<sockaddr_in> client;  // learned from the first datagram the client sends
  std::vector<std::uint8_t> buffer(65536);

  const auto send_on = [&](bool to_server, const std::vector<std::uint8_t>& bytes) {
    if (to_server) {
      ::sendto(upstream_fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&server), sizeof server);
    } else if (client) {
      ::sendto(client_fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&*client), sizeof *client);
    }
    std::lock_guard lock(mutex_);
    ++(to_server ? up_ : down_).out;
  };
  // Held datagrams go out when due, or right after the next datagram of their direction (which
  // then overtook them).
  const auto release = [&](direction& d, bool to_server, bool all_reordered) {
    const auto now = clock_type::now();
    for (auto it = d.queue.begin(); it != d.queue.end();) {
      if (it->due <= now || (all_reordered && it->reordered)) {
        send_on(to_server, it->bytes);
        it = d.queue.erase(it);
      } else {
        ++it;
      }
    }
  };
  const auto handle = [&](direction& d, bool to_server, std::vector<std::uint8_t> bytes) {
    counts& c = to_server ? up_ : down_;
    {
      std::lock_guard lock(mutex_);
      ++c.in;
    }
    if (!active_.load()) {
      send_on(to_server, bytes);
      return;
    }
    const double fate = d.uniform(d.rng);
    const double twist = d.uniform(d.rng);
    const double copy = d.uniform(d.rng);
    if (fate < how_.drop) {
      std::lock_guard lock(mutex_);
      ++c.dropped;
      return;
    }
    const auto now = clock_type::now();
    if (copy < how_.duplicate) {
      std::lock_guard lock(mutex_);
      ++c.duplicated;
      d.queue.push_back({now + how_.hold, bytes, false});
    }
    if (twist < how_.reorder) {
      {
        std::lock_guard lock(mutex_);
        ++c.reordered;
      }
      d.queue.push_back({now + how_.hold, std::move(bytes), true});
      return;
    }
    send_on(to_server, bytes);
    release(d, to_server, /*all_reordered=*/true);  // this one overtook whatever was held back
  };

  while (!stop_.load()) {
    pollfd fds[2] = {{client_fd_, POLLIN, 0}, {upstream_fd_, POLLIN, 0}};
    ::poll(fds, 2, 2);
    for (;;) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n =
          ::recvfrom(client_fd_, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) break;
      client = from;
      handle(up, true, std::vector<std::uint8_t>(buffer.begin(), buffer.begin() + n));
    }
    for (;;) {
      const ssize_t n = ::recv(upstream_fd_, buffer.data(), buffer.size(), 0);
      if (n < 0) break;
      handle(down, false, std::vector<std::uint8_t>(buffer.begin(), buffer.begin() + n));
    }
    release(up, true, false);
    release(down, false, false);
  }
}

}  // namespace chat_test
