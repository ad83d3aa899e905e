// chat-bench's command line.
#pragma once

#include "shape.hpp"
#include "targets.hpp"

#include <optional>
#include <string>
#include <vector>

namespace chat_bench {

struct options {
  // What to measure.
  bool floor = false;  ///< 500 × 10 × 2 msg/s
  bool max = false;    ///< search the saturation throughput
  bool sweep = false;  ///< room sizes sweep_sizes with total_members members in all
  bool idle = false;   ///< no chat: members only keep alive (the servers' memory per member)
  shape layout{5, 3};
  double rate = 2;         ///< chat messages per second per member
  std::size_t size = 100;  ///< chat text bytes per message
  double duration = 10;    ///< seconds of load per phase (--max: per step)
  unsigned repeat = 1;     ///< fixed-rate phases per target (alternating targets)
  std::vector<std::uint32_t> sweep_sizes{2, 10, 100, 1000};
  std::uint64_t total_members = 5000;
  double sweep_deliveries = 90'000;  ///< delivered datagrams/s each sweep size aims at
  double loss_limit = 0.01;          ///< --max: a step with this loss or more is past saturation
  double max_start = 0;              ///< --max: first rate per member (0: 1 msg/s)
  unsigned max_steps = 14;           ///< --max: steps per target and shape at most
  double max_precision = 0.05;       ///< --max: stop when the bracket is this narrow (relative)

  // Which systems.
  std::vector<target_kind> targets;
  std::string server_bin;
  std::string baseline_bin;  ///< the chat-server of the baseline targets
  std::string limit_relay_bin;
  std::string mosquitto_bin = "mosquitto";
  std::vector<std::string> server_args;  ///< after `--`: extra arguments for the started target(s)
  std::optional<std::string> connect;
  std::optional<std::string> source_ip;  ///< local address of the members' TCP (and so UDP) sockets
  /// Cluster mode: the other nodes (HOST:PORT) that members other than a room's host join
  /// through, in turn; their datagrams go where the completion's udp_host says.
  std::vector<std::string> join_via;
  std::vector<std::string> create_via;
  std::optional<int> server_pid;
  std::optional<unsigned> server_threads;
  std::optional<std::string> server_log;
  std::optional<std::string> count_allocs;  ///< path of libmalloc_count.so
  bool encrypt = false;                     ///< chat-server with encrypted sessions (target chat-server-enc)

  // The generator.
  std::size_t bench_threads = 2;
  std::size_t handshake_concurrency = 64;
  double handshake_rate = 1000;  ///< encrypted handshakes started per second at most (0: no limit)
  double keepalive = 10;         ///< seconds of silence before a member sends a keepalive
  double drain = 2;              ///< seconds to wait for stragglers after a phase
  double setup_timeout = 0;      ///< 0: 60 s + 10 ms per member

  // Output.
  bool json = false;
  std::string json_file;  ///< also write the JSON results here (the table still goes to stdout)
  bool quiet = false;
  bool require_zero_loss = false;
};

struct parse_result {
  std::optional<options> opts;
  int exit_code = 0;
};

parse_result parse_options(int argc, char** argv);

}  // namespace chat_bench
