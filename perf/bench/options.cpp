#include "options.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>

#ifndef CHAT_BENCH_SERVER_PATH
#define CHAT_BENCH_SERVER_PATH "chat-server"
#endif
#ifndef CHAT_BENCH_LIMIT_RELAY_PATH
#define CHAT_BENCH_LIMIT_RELAY_PATH "limit-relay"
#endif
#ifndef CHAT_BENCH_MALLOC_COUNT_PATH
#define CHAT_BENCH_MALLOC_COUNT_PATH ""
#endif

namespace chat_bench {
namespace po = boost::program_options;

namespace {

constexpr const char* usage_text = R"(chat-bench: load generator and measuring instrument for chat-server.

Usage: chat-bench [MODE] [SHAPE] [SYSTEMS] [OPTIONS] [-- ARGS FOR THE STARTED SERVER]

By default chat-bench starts chat-server itself (built beside it), creates ROOMS x MEMBERS
members through the real TCRP handshake, binds each (keepalive, pong), drives UDP chat at RATE
messages/s per member for DURATION seconds, and reports delivered datagrams, loss, latency
(p50/p99/p99.9/max), the server's CPU time and peak memory. Sessions are plaintext unless
--encrypt is given (then every member performs the encrypted handshake and seals and opens every
datagram, as chat-server's own clients do by default).

Examples:
  chat-bench --floor                       500 rooms x 10 members x 2 msg/s against chat-server
  chat-bench --floor --compare --mqtt      the same against chat-server, limit-relay, Mosquitto
  chat-bench --floor --compare --encrypt   chat-server plaintext and encrypted, and limit-relay
  chat-bench --idle --rooms 500 --members 10 --target chat-server,chat-server-enc
                                           the servers' memory per member, idle (keepalives only)
  chat-bench --max --compare               saturation of chat-server and limit-relay, alternating
  chat-bench --sweep --compare             room sizes 2, 10, 100, 1000 at 90k deliveries/s
  chat-bench --connect 127.0.0.1:9000 --server-pid 1234   attach to a running chat-server
)";

std::vector<target_kind> parse_targets(const std::string& list) {
  std::vector<target_kind> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item == "chat-server") {
      out.push_back(target_kind::chat_server);
    } else if (item == "chat-server-enc") {
      out.push_back(target_kind::chat_server_enc);
    } else if (item == "baseline") {
      out.push_back(target_kind::baseline);
    } else if (item == "baseline-enc") {
      out.push_back(target_kind::baseline_enc);
    } else if (item == "limit-relay") {
      out.push_back(target_kind::limit_relay);
    } else if (item == "mqtt" || item == "mosquitto") {
      out.push_back(target_kind::mqtt);
    } else {
      throw po::error("unknown target '" + item +
                      "' (chat-server, chat-server-enc, baseline, baseline-enc, limit-relay, mqtt)");
    }
  }
  return out;
}

std::vector<std::uint32_t> parse_sizes(const std::string& list) {
  std::vector<std::uint32_t> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    const unsigned long v = std::stoul(item);
    if (v < 2 || v > 100'000) throw po::error("room sizes are 2..100000");
    out.push_back(static_cast<std::uint32_t>(v));
  }
  if (out.empty()) throw po::error("--sweep-sizes is empty");
  return out;
}

// "HOST:PORT,HOST:PORT,...": the nodes of a cluster, empty items skipped.
std::vector<std::string> split_node_list(const std::string& list) {
  std::vector<std::string> nodes;
  for (std::size_t at = 0; at <= list.size();) {
    const auto comma = list.find(',', at);
    std::string item = list.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (!item.empty()) nodes.push_back(std::move(item));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return nodes;
}

std::string beside_me(const char* argv0, const std::string& built_path, const char* name) {
  if (!built_path.empty() && std::filesystem::exists(built_path)) return built_path;
  // Beside chat-bench, for an install tree.
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto sibling = self.parent_path() / name;
    if (std::filesystem::exists(sibling)) return sibling.string();
  }
  (void)argv0;
  return name;
}

}  // namespace

parse_result parse_options(int argc, char** argv) {
  options o;
  std::string targets;
  std::string sizes;
  bool compare = false;
  bool mqtt = false;
  std::optional<std::string> count_allocs_arg;

  po::options_description mode("Mode (default: one fixed-rate phase per system)");
  mode.add_options()
      ("floor", po::bool_switch(&o.floor), "The floor load: 500 rooms x 10 members x 2 msg/s (sets --rooms, --members, --rate).")
      ("max", po::bool_switch(&o.max), "Find saturation: step the rate per member (x1.5, then bisect) and report the highest delivered datagrams/s with loss under --loss-limit.")
      ("sweep", po::bool_switch(&o.sweep), "Room sizes --sweep-sizes with --total-members members in all, each at --sweep-deliveries delivered datagrams/s (or at saturation with --max).")
      ("idle", po::bool_switch(&o.idle), "No chat: set the members up and let them only keep alive for --duration seconds; reports each server's memory per member.")
      ("repeat", po::value(&o.repeat)->default_value(o.repeat), "Fixed-rate phases per system, alternating systems.");
  po::options_description load("Load");
  load.add_options()
      ("rooms,r", po::value(&o.layout.rooms)->default_value(o.layout.rooms), "Rooms.")
      ("members,m", po::value(&o.layout.members)->default_value(o.layout.members), "Members per room (>= 2).")
      ("rate,s", po::value(&o.rate)->default_value(o.rate), "Chat messages per second per member.")
      ("size,b", po::value(&o.size)->default_value(o.size), "Chat text bytes per message (>= 32: a stamp with the send time).")
      ("duration,d", po::value(&o.duration)->default_value(o.duration), "Seconds of load per phase (default 10; 3 per step with --max).")
      ("sweep-sizes", po::value(&sizes)->default_value("2,10,100,1000"), "Room sizes for --sweep.")
      ("total-members", po::value(&o.total_members)->default_value(o.total_members), "Members in all for --sweep.")
      ("sweep-deliveries", po::value(&o.sweep_deliveries)->default_value(o.sweep_deliveries), "Delivered datagrams/s each --sweep size aims at.")
      ("loss-limit", po::value(&o.loss_limit)->default_value(o.loss_limit), "--max: the loss fraction that marks saturation.")
      ("max-start", po::value(&o.max_start)->default_value(o.max_start), "--max: first rate per member (0: 1 msg/s, or the sweep's rate).")
      ("max-steps", po::value(&o.max_steps)->default_value(o.max_steps), "--max: steps per system at most.");
  po::options_description systems("Systems");
  systems.add_options()
      ("target", po::value(&targets), "Systems to measure, comma-separated: chat-server, chat-server-enc (encrypted sessions), baseline, baseline-enc (the --baseline-bin chat-server, plaintext or encrypted), limit-relay, mqtt (default chat-server).")
      ("compare", po::bool_switch(&compare), "chat-server and limit-relay in the same run, alternating (add --mqtt for Mosquitto, --encrypt for chat-server-enc as well).")
      ("encrypt", po::bool_switch(&o.encrypt), "Encrypted sessions: chat-server becomes chat-server-enc (with --compare: chat-server-enc is measured next to the plaintext chat-server).")
      ("mqtt", po::bool_switch(&mqtt), "Mosquitto on loopback, one topic per room, QoS 0 (alone, or with --compare).")
      ("server-bin", po::value(&o.server_bin), "chat-server to start (default: the one built with chat-bench).")
      ("baseline-bin", po::value(&o.baseline_bin), "Another chat-server (an older build, say) for the targets baseline and baseline-enc: before/after in one run, alternating.")
      ("limit-relay-bin", po::value(&o.limit_relay_bin), "limit-relay to start (default: the one built with chat-bench).")
      ("mosquitto-bin", po::value(&o.mosquitto_bin)->default_value(o.mosquitto_bin), "mosquitto to start.")
      ("server-threads", po::value<unsigned>(), "Pass --threads N to the started chat-server.")
      ("connect", po::value<std::string>(), "Attach to a running system at HOST:PORT instead of starting one (chat-server: its TCP port; limit-relay: its UDP port; mqtt: the broker).")
      ("create-via", po::value<std::string>(), "Cluster mode, with --connect to one node: each room's host creates it through one of these nodes (HOST:PORT,HOST:PORT,..., room by room in turn), so the rooms live spread over the cluster. The server's CPU and memory are still --server-pid's alone; the clients' figures (deliveries, loss, latency) cover the whole cluster.")
      ("server-pid", po::value<int>(), "With --connect: the PID whose CPU and memory to report.")
      ("source-ip", po::value<std::string>(), "Local address of the members' sockets (default: the kernel's choice). Each address has ~28k ephemeral ports: with several chat-bench processes on different 127.x addresses, one server can hold more members (perf/memory.sh).")
      ("join-via", po::value<std::string>(), "Cluster mode (docs/cluster.md), with --connect to one node: members other than each room's host join through these other nodes (HOST:PORT,HOST:PORT,..., in turn) while the rooms live on the --connect node; every datagram goes to the room's node, as the completion's udp_host says. The relay figures are then the --connect node's with joins forwarded.")
      ("server-log", po::value<std::string>(), "Append the started systems' output to this file.")
      ("count-allocs", po::value<std::string>()->implicit_value(""), "Preload the heap allocation counter (libmalloc_count.so, or this path) into the started systems and report allocations per message and per delivery.");
  po::options_description generator("Generator and output");
  generator.add_options()
      ("bench-threads", po::value(&o.bench_threads)->default_value(o.bench_threads), "Load threads per system (each drives a share of the members with epoll).")
      ("handshake-concurrency", po::value(&o.handshake_concurrency)->default_value(o.handshake_concurrency), "TCRP handshakes (or MQTT connects) in flight during set-up.")
      ("handshake-rate", po::value(&o.handshake_rate)->default_value(o.handshake_rate), "Encrypted handshakes started per second at most (each costs chat-bench and the server three X25519 operations; 0: no limit). Plaintext handshakes are not paced.")
      ("keepalive", po::value(&o.keepalive)->default_value(o.keepalive), "Seconds of silence after which a member sends a keepalive.")
      ("drain", po::value(&o.drain)->default_value(o.drain), "Seconds to wait for late deliveries after a phase.")
      ("setup-timeout", po::value(&o.setup_timeout)->default_value(o.setup_timeout), "Seconds for a set-up (0: 60 s + 10 ms per member, plus members / --handshake-rate when encrypted).")
      ("json", po::bool_switch(&o.json), "Print the results as one JSON object on stdout instead of a table.")
      ("json-file", po::value(&o.json_file), "Also write the results as JSON to this file (perf/plot.py draws them), whatever stdout shows.")
      ("quiet,q", po::bool_switch(&o.quiet), "No progress lines on stderr.")
      ("require-zero-loss", po::bool_switch(&o.require_zero_loss), "Exit with status 3 if any fixed-rate phase lost a datagram (for the smoke test).")
      ("help,h", "Show this help.");
  po::options_description hidden;
  hidden.add_options()("server-arg", po::value<std::vector<std::string>>(&o.server_args), "");
  po::options_description all;
  all.add(mode).add(load).add(systems).add(generator).add(hidden);
  po::options_description visible;
  visible.add(mode).add(load).add(systems).add(generator);
  po::positional_options_description positional;
  positional.add("server-arg", -1);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << usage_text << "\n" << visible << "\n";
      return {std::nullopt, 0};
    }
    o.sweep_sizes = parse_sizes(sizes);
    if (!targets.empty()) o.targets = parse_targets(targets);
    auto has = [&o](target_kind k) { return std::find(o.targets.begin(), o.targets.end(), k) != o.targets.end(); };
    if (compare) {
      for (auto k : {target_kind::chat_server, target_kind::limit_relay}) {
        if (!has(k)) o.targets.push_back(k);
      }
    }
    if (o.encrypt) {
      // --compare --encrypt: both chat-servers (encrypted right after the plaintext one, so that
      // they alternate next to each other); otherwise the encrypted one instead of the plaintext.
      if (o.targets.empty()) o.targets.push_back(target_kind::chat_server);
      const auto plain = std::find(o.targets.begin(), o.targets.end(), target_kind::chat_server);
      if (has(target_kind::chat_server_enc)) {
        // Named already.
      } else if (plain == o.targets.end()) {
        throw po::error("--encrypt applies to chat-server, which --target does not name");
      } else if (compare) {
        o.targets.insert(plain + 1, target_kind::chat_server_enc);
      } else {
        *plain = target_kind::chat_server_enc;
      }
    }
    if (mqtt && std::find(o.targets.begin(), o.targets.end(), target_kind::mqtt) == o.targets.end()) {
      o.targets.push_back(target_kind::mqtt);
    }
    if (o.targets.empty()) o.targets.push_back(target_kind::chat_server);
    const bool wants_baseline = std::find_if(o.targets.begin(), o.targets.end(), [](target_kind k) {
                                  return k == target_kind::baseline || k == target_kind::baseline_enc;
                                }) != o.targets.end();
    if (wants_baseline && o.baseline_bin.empty()) throw po::error("the baseline targets need --baseline-bin");
    if (vm.count("server-threads")) o.server_threads = vm["server-threads"].as<unsigned>();
    if (vm.count("connect")) o.connect = vm["connect"].as<std::string>();
    if (vm.count("server-pid")) o.server_pid = vm["server-pid"].as<int>();
    if (vm.count("source-ip")) o.source_ip = vm["source-ip"].as<std::string>();
    if (vm.count("join-via")) {
      if (!o.connect) throw po::error("--join-via needs --connect (a node of a running cluster)");
      o.join_via = split_node_list(vm["join-via"].as<std::string>());
    }
    if (vm.count("create-via")) {
      if (!o.connect) throw po::error("--create-via needs --connect (a node of a running cluster)");
      o.create_via = split_node_list(vm["create-via"].as<std::string>());
    }
    if (vm.count("server-log")) o.server_log = vm["server-log"].as<std::string>();
    if (vm.count("count-allocs")) {
      std::string lib = vm["count-allocs"].as<std::string>();
      if (lib.empty()) lib = beside_me(argv[0], CHAT_BENCH_MALLOC_COUNT_PATH, "libmalloc_count.so");
      o.count_allocs = std::filesystem::absolute(lib).string();
    }
    if (o.server_bin.empty()) o.server_bin = beside_me(argv[0], CHAT_BENCH_SERVER_PATH, "chat-server");
    if (o.limit_relay_bin.empty()) o.limit_relay_bin = beside_me(argv[0], CHAT_BENCH_LIMIT_RELAY_PATH, "limit-relay");

    if (o.floor) {
      o.layout = {500, 10};
      o.rate = 2;
    }
    if (o.max && vm["duration"].defaulted()) o.duration = 3;
    if (o.connect && o.targets.size() != 1) throw po::error("--connect attaches to one system: name it with --target");
    if (o.connect && !o.server_pid) throw po::error("--connect needs --server-pid");
    if (o.layout.rooms < 1 || o.layout.members < 2) throw po::error("at least 1 room of 2 members");
    if (o.idle && (o.max || o.sweep || o.floor)) throw po::error("--idle goes with none of --max, --sweep, --floor");
    if (o.rate <= 0 || o.duration <= 0) throw po::error("--rate and --duration must be positive");
    if (o.handshake_rate < 0) throw po::error("--handshake-rate must not be negative");
    if (o.size < 32 || o.size > 4000) throw po::error("--size is 32..4000 bytes");
    if (o.bench_threads < 1 || o.bench_threads > 64) throw po::error("--bench-threads is 1..64");
    if (o.handshake_concurrency < 1) throw po::error("--handshake-concurrency must be positive");
    if (o.repeat < 1) throw po::error("--repeat must be positive");
    if (o.keepalive <= 0 || o.drain < 0) throw po::error("--keepalive must be positive and --drain not negative");
  } catch (const std::exception& e) {
    std::cerr << "chat-bench: " << e.what() << "\nTry chat-bench --help.\n";
    return {std::nullopt, 2};
  }
  return {o, 0};
}

}  // namespace chat_bench
