#include "nats_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace chat_test {

std::string nats_binary() {
  return "/usr/sbin/nats-server";
}  // Debian ships it in sbin

std::uint16_t free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("cannot find a free port");
  ::close(fd);
  return ntohs(a.sin_port);
}

nats_process::nats_process(std::uint16_t cluster_port, std::vector<std::uint16_t> routes, std::string name,
                           std::vector<std::string> extra)
    : cluster_port_(cluster_port), routes_(std::move(routes)), name_(std::move(name)), extra_(std::move(extra)) {
  if (!std::filesystem::exists(nats_binary()))
    throw std::runtime_error(nats_binary() + " is missing: run scripts/install-deps.sh --test");
  char dir[] = "/tmp/chat-nats-test-XXXXXX";
  if (!::mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
  directory_ = dir;
  port_ = free_tcp_port();
  spawn();
  // A server of a NATS cluster is ready to serve once it has listened; JetStream's own readiness
  // (a leader) is the nodes' business, and they retry.
  if (!wait_ready(std::chrono::seconds(10))) {
    stop();
    throw std::runtime_error("nats-server did not start:\n" + log());
  }
}

nats_process::~nats_process() {
  stop();
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

void nats_process::spawn() {
  const std::string log_file = directory_ + "/nats-" + std::to_string(++starts_) + ".log";
  std::vector<std::string> args{nats_binary(),         "-js", "-a",  "127.0.0.1", "-p",    std::to_string(port_), "-sd",
                                directory_ + "/store", "-n",  name_, "-l",        log_file};
  if (cluster_port_) {
    // --no_advertise: clients reach only the servers they are given (not the others, which the
    // cluster would tell them of), so that a test can cut one node off by stopping its server.
    args.insert(args.end(), {"--cluster_name", "libchat-test", "--cluster",
                             "nats://127.0.0.1:" + std::to_string(cluster_port_), "--no_advertise=true"});
    std::string routes;
    for (auto r : routes_) routes += (routes.empty() ? "" : ",") + std::string("nats://127.0.0.1:") + std::to_string(r);
    if (!routes.empty()) args.insert(args.end(), {"--routes", routes});
  }
  args.insert(args.end(), extra_.begin(), extra_.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (::posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("cannot start " + args[0]);
}

std::string nats_process::log() const {
  std::ifstream in(directory_ + "/nats-" + std::to_string(starts_) + ".log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool nats_process::wait_ready(std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (log().find("Server is ready") != std::string::npos) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void nats_process::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void nats_process::restart() {
  kill_hard();
  spawn();
  if (!wait_ready(std::chrono::seconds(10))) throw std::runtime_error("nats-server did not restart:\n" + log());
}

void nats_process::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill_hard();
}

}  // namespace chat_test
