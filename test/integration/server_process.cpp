#include "server_process.hpp"

#include <csignal>
#include <regex>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace chat_test {

std::string server_binary() { return CHAT_SERVER_PATH; }

server_process::server_process(std::vector<std::string> extra_args) {
  std::vector<std::string> args{server_binary(), "--port", "0", "--stats-interval", "0", "--threads", "2"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  const int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    throw std::runtime_error("cannot start " + args[0]);
  }
  reader_ = std::thread([this, fd = pipe_fds[0]] { read_log(fd); });

  if (!wait_for_log("listening tcp=", std::chrono::seconds(10))) throw std::runtime_error("no start-up line:\n" + log());
  const std::string text = log();
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(R"(listening tcp=\S+:(\d+) udp=\S+:(\d+) lobby=(\S+))")))
    throw std::runtime_error("unexpected start-up line:\n" + text);
  tcp_port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
  udp_port_ = static_cast<std::uint16_t>(std::stoi(m[2]));
  const std::string lobby = m[3];
  if (lobby != "off") lobby_port_ = static_cast<std::uint16_t>(std::stoi(lobby.substr(lobby.rfind(':') + 1)));
}

server_process::~server_process() {
  if (!exited_) {
    signal(SIGTERM);
    if (!wait_exit(std::chrono::seconds(5))) {
      ::kill(pid_, SIGKILL);
      wait_exit(std::chrono::seconds(5));
    }
  }
  if (reader_.joinable()) reader_.join();
}

void server_process::read_log(int fd) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    std::lock_guard lock(mutex_);
    log_.append(buf, static_cast<std::size_t>(n));
    changed_.notify_all();
  }
  ::close(fd);
}

void server_process::signal(int sig) const {
  if (!exited_) ::kill(pid_, sig);
}

std::optional<int> server_process::wait_exit(std::chrono::milliseconds timeout) {
  if (exited_) return exit_code_;
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool server_process::wait_for_log(const std::string& text, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return log_.find(text) != std::string::npos; });
}

std::string server_process::log() const {
  std::lock_guard lock(mutex_);
  return log_;
}

std::map<std::string, std::uint64_t> server_process::stats() {
  std::size_t before;
  {
    std::lock_guard lock(mutex_);
    before = log_.size();
  }
  signal(SIGUSR1);
  std::string line;
  {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(5), [&] {
      const auto at = log_.find("stats: ", before);
      return at != std::string::npos && log_.find('\n', at) != std::string::npos;
    });
    const auto at = log_.find("stats: ", before);
    if (at == std::string::npos) throw std::runtime_error("no stats line");
    line = log_.substr(at + 7, log_.find('\n', at) - at - 7);
  }
  std::map<std::string, std::uint64_t> out;
  for (char& c : line)
    if (c == '(' || c == ')') c = ' ';
  std::istringstream words(line);
  for (std::string word; words >> word;) {
    const auto eq = word.find('=');
    if (eq != std::string::npos) out[word.substr(0, eq)] = std::stoull(word.substr(eq + 1));
  }
  return out;
}

}  // namespace chat_test
