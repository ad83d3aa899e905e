// A program chat-bench starts and measures (chat-server, limit-relay, mosquitto): spawned in a
// process group of its own, so that a Ctrl-C in the terminal reaches only chat-bench, which then
// stops its children itself. Its stderr is read by chat-bench: first to find the start-up line,
// then drained by a thread (to a log file if asked) so that a chatty server never blocks on a
// full pipe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace chat_bench {

class child_process {
 public:
  /// Starts argv[0] (a path, or a name looked up in PATH) with `extra_env` ("K=V") added to this
  /// process's environment. Throws std::runtime_error when it cannot be started.
  child_process(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                std::optional<std::string> log_path);
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  /// Stops the child (SIGTERM, then SIGKILL after a grace period) if it still runs.
  ~child_process();

  /// Runs a program to its end (for example `chat-server --help`) and returns what it wrote on
  /// stdout and stderr; gives up after `timeout`.
  static std::string capture(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

  pid_t pid() const noexcept { return pid_; }
  const std::string& name() const noexcept { return name_; }

  /// Reads stderr until a line contains `needle` and returns that line. Nothing when the child
  /// exits or closes stderr first, or when `timeout` passes. Call before start_draining().
  std::optional<std::string> wait_for_line(std::string_view needle, std::chrono::milliseconds timeout);
  /// From now on a thread reads stderr (keeping the last lines for error messages).
  void start_draining();
  /// The last lines the child wrote to stderr.
  std::string tail() const;
  /// True while the child has not exited (reaps it if it has).
  bool running();
  /// SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status as from waitpid, or -1.
  int stop(std::chrono::milliseconds grace);

 private:
  void keep_line(std::string line);

  std::string name_;
  std::string all_output_;
  bool keep_all_ = false;
  pid_t pid_ = -1;
  int stderr_fd_ = -1;
  int log_fd_ = -1;
  bool exited_ = false;
  int status_ = -1;
  std::string pending_;
  mutable std::mutex mutex_;
  std::deque<std::string> tail_;
  std::thread drain_;
};

}  // namespace chat_bench
