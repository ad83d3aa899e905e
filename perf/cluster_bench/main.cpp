// cluster-bench: what cluster mode costs (issue 11). Starts a nats-server with JetStream and N
// chat-server nodes on 127.0.0.1..N (all on this machine), then measures, with encrypted
// handshakes (the default) through libchat's client_exchange over blocking sockets:
//   1. handshake latency: create (local, with its directory claim), join through the room's home
//      node (local) and join through another node (forwarded over NATS), p50/p99/max;
//   2. the handshake rate the cluster sustains: --concurrency clients creating rooms and joining
//      them through random nodes for --duration seconds;
//   3. recovery: a node is killed (SIGKILL) and a room name it held is created again through
//      another node as soon as the cluster lets it.
// Chat datagrams never cross nodes (a member sends to its room's home node, which the completion
// names), so the relay's figures are chat-bench's single-node ones; see docs/cluster.md.

#include "libchat/client_exchange.hpp"

#include <nats/nats.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct options {
  unsigned nodes = 3;
  unsigned rooms = 300;
  unsigned concurrency = 4;
  double duration = 5;
  double node_timeout = 2;
  std::string server_bin = CLUSTER_BENCH_SERVER_PATH;
  std::string nats_bin = "/usr/sbin/nats-server";
};

[[noreturn]] void die(const std::string& why) {
  std::cerr << "cluster-bench: " << why << "\n";
  std::exit(1);
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    die("no free port");
  ::close(fd);
  return ntohs(a.sin_port);
}

/// A child process whose stderr (and stdout) goes to a log file we poll.
struct child {
  int pid = -1;
  std::string log_file;

  void start(std::vector<std::string> args, const std::string& log) {
    log_file = log;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) die("cannot start " + args[0]);
    posix_spawn_file_actions_destroy(&actions);
  }
  std::string log() const {
    std::ifstream in(log_file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  bool wait_for(const std::string& text, std::chrono::milliseconds within) const {
    const auto until = clock_type::now() + within;
    while (clock_type::now() < until) {
      if (log().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  void stop(int sig = SIGTERM) {
    if (pid <= 0) return;
    ::kill(pid, sig);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
  }
};

/// CPU seconds (user + system) a process has used so far, from /proc/PID/stat.
double cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct node_address {
  std::string ip;
  std::uint16_t port = 0;
};

/// One TCRP exchange over a blocking socket: the grant or the failure's code.
struct exchange_result {
  bool ok = false;
  std::string code;
  double ms = 0;
};

exchange_result run_exchange(const node_address& to, libchat::client_exchange_config config) {
  exchange_result r;
  const auto started = clock_type::now();
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(to.port);
  ::inet_pton(AF_INET, to.ip.c_str(), &a.sin_addr);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    r.code = "connect";
    return r;
  }
  libchat::client_exchange x(std::move(config));
  auto action = x.start();
  while (action.what != libchat::client_action::kind::done) {
    if (action.what == libchat::client_action::kind::write) {
      if (::send(fd, action.bytes.data(), action.bytes.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(action.bytes.size()))
        break;
      action = x.on_written();
    } else {
      const ssize_t n = ::recv(fd, action.buffer.data(), action.buffer.size(), 0);
      action = n > 0 ? x.on_read(static_cast<std::size_t>(n)) : x.on_closed();
    }
  }
  ::close(fd);
  r.ms = std::chrono::duration<double, std::milli>(clock_type::now() - started).count();
  if (x.grant()) {
    r.ok = true;
  } else {
    r.code = x.failure() ? std::string(x.failure()->code()) : "io";
  }
  return r;
}

libchat::wall_time wall_now() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

libchat::client_exchange_config room_config(libchat::operation op, const std::string& room, const std::string& user,
                                            const libchat::public_key& key) {
  libchat::client_exchange_config c;
  c.op = op;
  c.room = room;
  c.request.username = user;
  c.server_key = key;
  c.server_name = "cluster";
  c.now = wall_now();
  return c;
}

struct percentiles {
  double p50 = 0, p99 = 0, max = 0;
  std::size_t n = 0;
};

/// One directory bucket's write rate: `threads` clients doing synchronous KV creates (as a node's
/// claim does) on a fresh bucket for `seconds`.
double kv_create_rate(std::uint16_t nats_port, unsigned threads, double seconds) {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  kvStore* kv = nullptr;
  const std::string url = "nats://127.0.0.1:" + std::to_string(nats_port);
  if (natsConnection_ConnectTo(&nc, url.c_str()) != NATS_OK || natsConnection_JetStream(&js, nc, nullptr) != NATS_OK)
    die("cannot connect to nats-server");
  kvConfig cfg;
  kvConfig_Init(&cfg);
  cfg.Bucket = "cluster-bench";
  cfg.History = 1;
  cfg.StorageType = js_FileStorage;
  if (js_CreateKeyValue(&kv, js, &cfg) != NATS_OK) die("cannot create a KV bucket");
  std::atomic<bool> running{true};
  std::atomic<std::uint64_t> created{0};
  std::vector<std::thread> writers;
  const auto started = clock_type::now();
  for (unsigned t = 0; t < threads; ++t) {
    writers.emplace_back([&, t] {
      const std::string value = R"({"room":"bench","node":"node1","incarnation":"1","created":1})";
      for (std::uint64_t i = 0; running.load(); ++i) {
        const std::string key = "k" + std::to_string(t) + "_" + std::to_string(i);
        std::uint64_t revision = 0;
        if (kvStore_Create(&revision, kv, key.c_str(), value.data(), static_cast<int>(value.size())) == NATS_OK)
          ++created;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  running.store(false);
  for (auto& w : writers) w.join();
  const double elapsed = std::chrono::duration<double>(clock_type::now() - started).count();
  kvStore_Destroy(kv);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return static_cast<double>(created.load()) / elapsed;
}

percentiles summarize(std::vector<double> v) {
  percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  const auto at = [&](double q) {
    return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
  };
  p.p50 = at(0.50);
  p.p99 = at(0.99);
  p.max = v.back();
  p.n = v.size();
  return p;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--nodes")
      o.nodes = static_cast<unsigned>(std::stoul(value()));
    else if (a == "--rooms")
      o.rooms = static_cast<unsigned>(std::stoul(value()));
    else if (a == "--concurrency")
      o.concurrency = static_cast<unsigned>(std::stoul(value()));
    else if (a == "--duration")
      o.duration = std::stod(value());
    else if (a == "--node-timeout")
      o.node_timeout = std::stod(value());
    else if (a == "--server-bin")
      o.server_bin = value();
    else if (a == "--nats-bin")
      o.nats_bin = value();
    else if (a == "--help" || a == "-h") {
      std::cout << "Usage: cluster-bench [--nodes N (3)] [--rooms R (300)] [--concurrency K (4)] [--duration S (5)]\n"
                   "                     [--node-timeout S (2)] [--server-bin PATH] [--nats-bin PATH]\n"
                   "Starts nats-server (JetStream) and N chat-server nodes on 127.0.0.1..N and measures\n"
                   "handshake latency (local vs forwarded), the cluster's handshake rate, and the time until\n"
                   "a killed node's room names are free again. Prints a table; progress on stderr.\n";
      std::exit(0);
    } else
      die("unknown option " + a + " (try --help)");
  }
  if (o.nodes < 2 || o.nodes > 16) die("--nodes must be from 2 to 16");
  return o;
}

void print(const char* what, const percentiles& p) {
  std::printf("  %-34s %6zu   p50 %7.2f ms   p99 %7.2f ms   max %7.2f ms\n", what, p.n, p.p50, p.p99, p.max);
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  char dir_template[] = "/tmp/cluster-bench-XXXXXX";
  if (!::mkdtemp(dir_template)) die("mkdtemp failed");
  const std::string dir = dir_template;

  child nats;
  const std::uint16_t nats_port = free_port();
  nats.start({o.nats_bin, "-js", "-a", "127.0.0.1", "-p", std::to_string(nats_port), "-sd", dir + "/js"},
             dir + "/nats.log");
  if (!nats.wait_for("Server is ready", 10s)) die("nats-server did not start:\n" + nats.log());

  std::vector<child> nodes(o.nodes);
  std::vector<node_address> where(o.nodes);
  for (unsigned i = 0; i < o.nodes; ++i) {
    const std::string ip = "127.0.0." + std::to_string(i + 1);
    char timeout[32];
    std::snprintf(timeout, sizeof timeout, "%g", o.node_timeout);
    nodes[i].start({o.server_bin,
                    "--bind",
                    ip,
                    "--port",
                    "0",
                    "--key-file",
                    dir + "/server.key",
                    "--cluster",
                    "nats://127.0.0.1:" + std::to_string(nats_port),
                    "--node-name",
                    "node" + std::to_string(i + 1),
                    "--node-timeout",
                    timeout,
                    "--stats-interval",
                    "0",
                    "--handshake-rate",
                    "0",
                    "--max-handshakes-per-ip",
                    "100000",
                    "--max-rooms-per-ip",
                    "10000000",
                    "--max-tokens-per-ip",
                    "100000000",
                    "--join-rate",
                    "0",
                    "--max-handshakes",
                    "4096"},
                   dir + "/node" + std::to_string(i + 1) + ".log");
    // The start-up line names the port the kernel picked.
    std::smatch m;
    const auto until = clock_type::now() + 10s;
    std::string log;
    while (clock_type::now() < until) {
      log = nodes[i].log();
      if (std::regex_search(log, m, std::regex(R"(listening tcp=\S+:(\d+))"))) {
        where[i].port = static_cast<std::uint16_t>(std::stoul(m[1]));
        break;
      }
      std::this_thread::sleep_for(50ms);
    }
    where[i].ip = ip;
    if (!where[i].port) die("node " + std::to_string(i + 1) + " did not start:\n" + log);
  }
  // The directory opens just after start-up: wait until a create through every node succeeds.
  libchat::client_exchange_config key_config;
  key_config.op = libchat::operation::server_key;
  key_config.server_name = "cluster";
  std::optional<libchat::public_key> key;
  for (int attempt = 0; attempt < 100 && !key; ++attempt) {
    libchat::client_exchange x(key_config);
    (void)x;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(where[0].port);
    ::inet_pton(AF_INET, where[0].ip.c_str(), &a.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      auto action = x.start();
      while (action.what != libchat::client_action::kind::done) {
        if (action.what == libchat::client_action::kind::write) {
          ::send(fd, action.bytes.data(), action.bytes.size(), MSG_NOSIGNAL);
          action = x.on_written();
        } else {
          const ssize_t n = ::recv(fd, action.buffer.data(), action.buffer.size(), 0);
          action = n > 0 ? x.on_read(static_cast<std::size_t>(n)) : x.on_closed();
        }
      }
      if (x.key()) key = *x.key();
    }
    ::close(fd);
    if (!key) std::this_thread::sleep_for(100ms);
  }
  if (!key) die("no server key from node 1");
  for (unsigned i = 0; i < o.nodes; ++i) {
    bool ready = false;
    for (int attempt = 0; attempt < 100 && !ready; ++attempt) {
      ready =
          run_exchange(where[i], room_config(libchat::operation::create_room, "warm-" + std::to_string(i), "w", *key))
              .ok;
      if (!ready) std::this_thread::sleep_for(100ms);
    }
    if (!ready) die("node " + std::to_string(i + 1) + " does not take creates");
  }
  std::printf(
      "cluster-bench: nats-server (JetStream, one server) and %u chat-server nodes on 127.0.0.1-%u, "
      "encrypted handshakes, %u cores\n",
      o.nodes, o.nodes, std::thread::hardware_concurrency());

  // 1. Latency, one handshake at a time.
  std::cerr << "cluster-bench: latency, " << o.rooms << " rooms...\n";
  std::vector<double> creates, local_joins, forwarded_joins;
  for (unsigned r = 0; r < o.rooms; ++r) {
    const std::string room = "lat-" + std::to_string(r);
    const auto c = run_exchange(where[0], room_config(libchat::operation::create_room, room, "host", *key));
    const auto l = run_exchange(where[0], room_config(libchat::operation::join_room, room, "local", *key));
    const auto f =
        run_exchange(where[1 + r % (o.nodes - 1)], room_config(libchat::operation::join_room, room, "far", *key));
    if (!c.ok || !l.ok || !f.ok) die("a latency handshake failed: " + c.code + " " + l.code + " " + f.code);
    creates.push_back(c.ms);
    local_joins.push_back(l.ms);
    forwarded_joins.push_back(f.ms);
  }
  std::fflush(stdout);
  std::printf("\nHandshake latency (one at a time, %u rooms)\n", o.rooms);
  print("create (with the directory claim)", summarize(creates));
  print("join through the home node", summarize(local_joins));
  print("join through another node (fwd)", summarize(forwarded_joins));
  std::fflush(stdout);

  // 2. Rate: K clients, each creating a room through a random node and joining it through another.
  std::cerr << "cluster-bench: rate, " << o.concurrency << " clients for " << o.duration << " s...\n";
  std::atomic<std::uint64_t> done_creates{0}, done_joins{0}, failures{0};
  std::atomic<bool> running{true};
  std::vector<std::thread> clients;
  const auto rate_started = clock_type::now();
  const double nats_cpu_before = cpu_seconds(nats.pid);
  double nodes_cpu_before = 0;
  for (const auto& n : nodes) nodes_cpu_before += cpu_seconds(n.pid);
  for (unsigned t = 0; t < o.concurrency; ++t) {
    clients.emplace_back([&, t] {
      std::mt19937 rng(t + 1);
      for (unsigned i = 0; running.load(); ++i) {
        const std::string room = "rate-" + std::to_string(t) + "-" + std::to_string(i);
        const unsigned home = static_cast<unsigned>(rng() % o.nodes);
        const unsigned other = static_cast<unsigned>((home + 1 + rng() % (o.nodes - 1)) % o.nodes);
        if (run_exchange(where[home], room_config(libchat::operation::create_room, room, "a", *key)).ok)
          ++done_creates;
        else
          ++failures;
        if (run_exchange(where[other], room_config(libchat::operation::join_room, room, "b", *key)).ok)
          ++done_joins;
        else
          ++failures;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.duration));
  running.store(false);
  for (auto& c : clients) c.join();
  const double seconds = std::chrono::duration<double>(clock_type::now() - rate_started).count();
  const double nats_cpu = cpu_seconds(nats.pid) - nats_cpu_before;
  double nodes_cpu = -nodes_cpu_before;
  for (const auto& n : nodes) nodes_cpu += cpu_seconds(n.pid);
  std::printf(
      "\nHandshake rate (%u clients, %.1f s): %.0f handshakes/s = %.0f creates/s + %.0f forwarded joins/s, "
      "%llu failed\n",
      o.concurrency, seconds, static_cast<double>(done_creates + done_joins) / seconds,
      static_cast<double>(done_creates) / seconds, static_cast<double>(done_joins) / seconds,
      static_cast<unsigned long long>(failures.load()));
  const double handshakes = static_cast<double>(done_creates + done_joins);
  if (handshakes > 0) {
    // Each create writes the directory once (and its room's close once more, later); each
    // forwarded join reads it once and crosses NATS twice (request and reply frames).
    std::printf("  CPU per handshake: chat-server nodes %.0f us, nats-server %.0f us (%.0f us per create+join pair)\n",
                nodes_cpu / handshakes * 1e6, nats_cpu / handshakes * 1e6,
                nats_cpu / static_cast<double>(done_creates) * 1e6);
  }
  std::fflush(stdout);

  // 3. Recovery after SIGKILL of the last node.
  std::cerr << "cluster-bench: recovery...\n";
  const unsigned victim = o.nodes - 1;
  if (!run_exchange(where[victim], room_config(libchat::operation::create_room, "victim", "v", *key)).ok)
    die("cannot create the victim's room");
  const auto killed = clock_type::now();
  nodes[victim].stop(SIGKILL);
  double freed = -1;
  while (clock_type::now() - killed < 60s) {
    if (run_exchange(where[0], room_config(libchat::operation::create_room, "victim", "v2", *key)).ok) {
      freed = std::chrono::duration<double>(clock_type::now() - killed).count();
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  std::printf(
      "\nRecovery: node %u killed (SIGKILL); its room's name free again through node 1 after %.2f s "
      "(--node-timeout %g s)\n",
      victim + 1, freed, o.node_timeout);

  for (auto& n : nodes) n.stop();

  // 4. What one directory bucket takes (one JetStream stream, one replica, file storage).
  std::cerr << "cluster-bench: one bucket's write rate...\n";
  const double one = kv_create_rate(nats_port, 1, 3), four = kv_create_rate(nats_port, 4, 3);
  std::printf(
      "\nOne directory bucket (one replica, file storage): %.0f KV creates/s from 1 synchronous client, "
      "%.0f/s from 4\n",
      one, four);
  nats.stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return 0;
}
