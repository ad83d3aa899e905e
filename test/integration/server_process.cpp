#include "server_process.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
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

server_process::server_process(std::vector<std::string> extra_args, bool encrypted_only) {
  char dir[] = "/tmp/chat-server-test-XXXXXX";
  if (!::mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
  directory_ = dir;
  key_file_ = directory_ + "/server.key";
  // CHAT_TEST_SERVER_THREADS: the sanitizer runs use more threads than cores, to shake out races.
  const char* threads = std::getenv("CHAT_TEST_SERVER_THREADS");
  std::vector<std::string> args{server_binary(), "--stats-interval", "0", "--threads",
                                threads && *threads ? threads : "2"};
  // A test may fix the port (a restart at the same address); else the kernel picks free ones.
  if (std::find(extra_args.begin(), extra_args.end(), "--port") == extra_args.end())
    args.insert(args.end(), {"--port", "0"});
  const auto given = std::find(extra_args.begin(), extra_args.end(), "--key-file");
  if (given != extra_args.end() && given + 1 != extra_args.end()) {
    key_file_ = *(given + 1);  // the test's own key file (for example another server's)
  } else {
    args.insert(args.end(), {"--key-file", key_file_});
  }
  if (!encrypted_only) args.push_back("--allow-plaintext");
  // Every test talks from 127.0.0.1, many handshakes in a row: the per-address limits are lifted
  // unless a test sets them (the limits' own tests do).
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{{"--handshake-rate", "0"},
                                                                                    {"--max-handshakes-per-ip", "1000"},
                                                                                    {"--max-rooms-per-ip", "1000"},
                                                                                    {"--max-tokens-per-ip", "100000"},
                                                                                    {"--join-rate", "0"},
                                                                                    {"--hash-rate", "0"}}) {
    if (std::find(extra_args.begin(), extra_args.end(), flag) == extra_args.end()) args.insert(args.end(), {flag, value});
  }
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

  // The start-up lines end with the one that says which key and handshakes the server accepts.
  // A server that exits instead (a bad flag, a port in use) is not waited for any longer.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool started = false;
  while (!(started = wait_for_log("; accepting ", std::chrono::milliseconds(100))) &&
         std::chrono::steady_clock::now() < give_up && !wait_exit(std::chrono::milliseconds(0))) {
  }
  const std::string text = log();
  std::smatch m;
  if (!started || !std::regex_search(text, m, std::regex(R"(listening tcp=\S+:(\d+) udp=\S+:(\d+) lobby=(\S+))"))) {
    expected_failure_ = true;
    stop();  // a throwing constructor runs no destructor: clean up here (and read the log to its end)
    throw std::runtime_error("chat-server did not start:\n" + log());
  }
  tcp_port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
  udp_port_ = static_cast<std::uint16_t>(std::stoi(m[2]));
  const std::string lobby = m[3];
  if (lobby != "off") lobby_port_ = static_cast<std::uint16_t>(std::stoi(lobby.substr(lobby.rfind(':') + 1)));
  if (std::regex_search(text, m, std::regex(R"(listening tcp=.* metrics=(\S+))")) && m[1] != "off") {
    const std::string metrics = m[1];
    metrics_port_ = static_cast<std::uint16_t>(std::stoi(metrics.substr(metrics.rfind(':') + 1)));
  }
}

server_process::~server_process() { stop(); }

void server_process::stop() {
  bool killed = false;
  // If the test already asked the server to stop, give it the time to do so first.
  if (!exited_ && stop_requested_) wait_exit(std::chrono::seconds(5));
  if (!exited_) {
    signal(SIGTERM);
    if (!wait_exit(std::chrono::seconds(5))) {
      ::kill(pid_, SIGKILL);
      killed = true;
      wait_exit(std::chrono::seconds(5));
    }
  }
  if (reader_.joinable()) reader_.join();
  // A server that did not stop cleanly, or a sanitizer's report in its log, fails the test run
  // loudly: destructors cannot fail a test case, and such a finding must not pass unnoticed.
  const std::string text = log();
  const bool sanitizer_report = text.find("Sanitizer") != std::string::npos || text.find("runtime error:") != std::string::npos;
  if (sanitizer_report || killed || (exited_ && exit_code_ != 0 && !expected_failure_)) {
    std::fprintf(stderr, "chat-server did not stop cleanly (exit %d%s):\n%s\n", exit_code_,
                 killed ? ", killed after SIGTERM timed out" : "", text.c_str());
    std::abort();
  }
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
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

void server_process::signal(int sig) {
  if (exited_) return;
  if (sig == SIGTERM || sig == SIGINT) stop_requested_ = true;
  ::kill(pid_, sig);
}

void server_process::kill_hard() {
  if (exited_) return;
  expected_failure_ = true;
  ::kill(pid_, SIGKILL);
  wait_exit(std::chrono::seconds(5));
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

std::map<std::string, std::uint64_t> server_process::settled_stats() {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (;;) {
    auto s = stats();
    const bool balanced = s["received"] == s["relayed"] + s["keepalive"] + s["control"] + s["dropped"];
    if (balanced || std::chrono::steady_clock::now() >= until) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace chat_test
