// Which nodes of the cluster are alive, from their heartbeats: a node unheard for the timeout is
// dead, and so is an entry of a node's earlier process (another incarnation). Time is passed in.
// A node that has only just joined the cluster cannot tell "dead" from "not heard yet": until it
// has listened for a whole timeout, it calls every node alive (it frees nobody's names).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace chat_server::cluster {

class liveness {
 public:
  using clock = std::chrono::steady_clock;

  liveness(std::string self, std::uint64_t incarnation, std::chrono::milliseconds timeout);

  /// From when on this node hears heartbeats (its NATS connection is up).
  void listening_since(clock::time_point t);
  void heard(std::string_view node, std::uint64_t incarnation, clock::time_point t);
  /// Whether an entry written by `node` in its process `incarnation` still has a live home.
  bool alive(std::string_view node, std::uint64_t incarnation, clock::time_point now) const;
  /// The nodes heard within the timeout (this one included).
  std::size_t live_nodes(clock::time_point now) const;

 private:
  struct heartbeat {
    std::uint64_t incarnation = 0;
    clock::time_point at{};
  };
  std::string self_;
  std::uint64_t incarnation_;
  std::chrono::milliseconds timeout_;
  mutable std::mutex mutex_;
  clock::time_point listening_since_ = clock::time_point::max();
  std::unordered_map<std::string, heartbeat> last_;
};

}  // namespace chat_server::cluster
