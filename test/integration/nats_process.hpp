// Runs a real nats-server with JetStream on a free loopback port, its store in a temporary
// directory, for the cluster tests; stops it (SIGTERM, then SIGKILL) when the test is done.
// Optionally one of a NATS cluster: routes to the others on loopback.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace chat_test {

/// A free TCP port on 127.0.0.1 (bound once and released: free when we asked).
std::uint16_t free_tcp_port();

class nats_process {
 public:
  /// `cluster_port`: this server's route port in a NATS cluster (0: a lone server);
  /// `routes`: the other servers' route ports. `name`: the server's name in the cluster.
  /// `extra`: more nats-server flags (TLS, a user and password).
  explicit nats_process(std::uint16_t cluster_port = 0, std::vector<std::uint16_t> routes = {},
                        std::string name = "nats-test", std::vector<std::string> extra = {});
  ~nats_process();
  nats_process(const nats_process&) = delete;
  nats_process& operator=(const nats_process&) = delete;

  std::uint16_t port() const { return port_; }
  /// "nats://127.0.0.1:PORT"
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  /// SIGKILL, and waits for the death.
  void kill_hard();
  /// Starts it again on the same port and store (after kill_hard).
  void restart();
  std::string log() const;

 private:
  void spawn();
  bool wait_ready(std::chrono::milliseconds timeout);
  void stop();

  int pid_ = -1;
  std::uint16_t port_ = 0;
  std::uint16_t cluster_port_ = 0;
  std::vector<std::uint16_t> routes_;
  std::string name_;
  std::vector<std::string> extra_;
  std::string directory_;
  int starts_ = 0;
};

/// The nats-server binary (Debian's nats-server package, installed by scripts/install-deps.sh --test).
std::string nats_binary();

}  // namespace chat_test
