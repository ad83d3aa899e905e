// A userspace network impairment between one UDP client and the server's chat port (the kernel
// here has no netem): it drops, reorders and duplicates datagrams in both directions, decided by
// seeded random draws so that a run can be repeated. The client sends to port(); the server sees
// the proxy's upstream socket as the client's address.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace chat_test {

struct impairment {
  double drop = 0.05;                  ///< probability that a datagram is lost
  double reorder = 0.05;               ///< probability that a datagram is held back and sent after later ones
  double duplicate = 0.02;             ///< probability that a delivered datagram is sent once more, later
  std::chrono::milliseconds hold{15};  ///< how long a held-back datagram (or a duplicate) waits at most
  std::uint64_t seed = 1;
};

class impair_proxy {
 public:
  /// Listens on `ip`:ephemeral for the client and forwards to `ip`:`server_port`.
  impair_proxy(std::uint16_t server_port, impairment how, const std::string& ip = "127.0.0.1");
  ~impair_proxy();
  impair_proxy(const impair_proxy&) = delete;
  impair_proxy& operator=(const impair_proxy&) = delete;

  /// Where the client sends its datagrams.
  std::uint16_t port() const noexcept { return port_; }
  /// While inactive (the default), datagrams pass untouched: a test joins first, then impairs.
  void set_active(bool on) noexcept { active_.store(on); }

  struct counts {
    std::uint64_t in = 0;  ///< datagrams that reached the proxy
    std::uint64_t dropped = 0;
    std::uint64_t reordered = 0;  ///< held back, then sent after a later datagram or the hold time
    std::uint64_t duplicated = 0;
    std::uint64_t out = 0;  ///< datagrams sent on (duplicates included)
  };
  /// Client → server and server → client.
  counts upstream() const;
  counts downstream() const;

 private:
  struct direction;
  void run();

  int client_fd_ = -1;    // faces the client
  int upstream_fd_ = -1;  // faces the server
  std::uint16_t port_ = 0;
  std::uint16_t server_port_ = 0;
  std::string ip_;
  impairment how_;
  std::atomic<bool> active_{false};
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  counts up_, down_;
  std::thread thread_;
};

}  // namespace chat_test
