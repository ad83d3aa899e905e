#include "child_process.hpp"

#include "interrupt.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace chat_bench {
namespace {
constexpr std::size_t tail_lines = 40;
}  // namespace

child_process::child_process(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                             std::optional<std::string> log_path) {
  if (argv.empty()) throw std::runtime_error("no program to start");
  name_ = argv[0].substr(argv[0].rfind('/') + 1);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  if (log_path) {
    log_fd_ = ::open(log_path->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd_ < 0) throw std::runtime_error("cannot open " + *log_path + ": " + std::strerror(errno));
  }

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  for (const auto& e : extra_env) env_strings.push_back(e);
  std::vector<char*> env;
  for (auto& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int s : {SIGINT, SIGTERM, SIGPIPE, SIGUSR1, SIGHUP}) sigaddset(&defaults, s);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  const int rc = ::posix_spawnp(&pid_, argv[0].c_str(), &actions, &attr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    if (log_fd_ >= 0) ::close(log_fd_);
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  stderr_fd_ = fds[0];
  register_child(pid_);
}

child_process::~child_process() {
  stop(std::chrono::seconds(3));
  if (drain_.joinable()) drain_.join();
  if (stderr_fd_ >= 0) ::close(stderr_fd_);
  if (log_fd_ >= 0) ::close(log_fd_);
}

std::string child_process::capture(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  child_process child(argv, {}, std::nullopt);
  child.keep_all_ = true;
  child.wait_for_line("\x01never\x01", timeout);
  child.stop(std::chrono::seconds(1));
  return child.all_output_;
}

void child_process::keep_line(std::string line) {
  if (keep_all_) all_output_ += line + "\n";
  if (log_fd_ >= 0) {
    std::string out = line + "\n";
    [[maybe_unused]] const auto n = ::write(log_fd_, out.data(), out.size());
  }
  std::lock_guard lock(mutex_);
  tail_.push_back(std::move(line));
  if (tail_.size() > tail_lines) tail_.pop_front();
}

std::optional<std::string> child_process::wait_for_line(std::string_view needle, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    // Lines already read come first.
    for (std::size_t nl; (nl = pending_.find('\n')) != std::string::npos;) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      const bool found = line.find(needle) != std::string::npos;
      keep_line(line);
      if (found) return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{stderr_fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 100)));
    if (ready < 0 && errno != EINTR) return std::nullopt;
    if (ready <= 0) {
      if (!running()) return std::nullopt;
      continue;
    }
    const ssize_t n = ::read(stderr_fd_, buf, sizeof buf);
    if (n <= 0) return std::nullopt;
    pending_.append(buf, static_cast<std::size_t>(n));
  }
}

void child_process::start_draining() {
  if (drain_.joinable() || stderr_fd_ < 0) return;
  drain_ = std::thread([this] {
    char buf[8192];
    for (;;) {
      const ssize_t n = ::read(stderr_fd_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pending_.append(buf, static_cast<std::size_t>(n));
      for (std::size_t nl; (nl = pending_.find('\n')) != std::string::npos;) {
        keep_line(pending_.substr(0, nl));
        pending_.erase(0, nl + 1);
      }
    }
    if (!pending_.empty()) keep_line(std::move(pending_));
  });
}

std::string child_process::tail() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& l : tail_) out += "  | " + l + "\n";
  return out;
}

bool child_process::running() {
  if (exited_ || pid_ <= 0) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exited_ = true;
    status_ = status;
    unregister_child(pid_);
    return false;
  }
  return r == 0;
}

int child_process::stop(std::chrono::milliseconds grace) {
  if (!running()) return status_;
  ::kill(pid_, SIGTERM);
  const auto until = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < until) {
    if (!running()) return status_;
    ::usleep(10'000);
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  if (::waitpid(pid_, &status, 0) == pid_) {
    exited_ = true;
    status_ = status;
    unregister_child(pid_);
  }
  return status_;
}

}  // namespace chat_bench
