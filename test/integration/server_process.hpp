// Runs the real chat-server on ephemeral loopback ports for a test, reads its log as it runs, and
// stops it (SIGTERM, then SIGKILL after a bound) when the test is done.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace chat_test {

class server_process {
 public:
  /// Starts chat-server with `--port 0`, a key file of its own in a temporary directory, and the
  /// extra arguments, and waits for its start-up line. Unless `encrypted_only`, it also accepts
  /// plaintext handshakes (--allow-plaintext), which most tests speak through wire_client.
  explicit server_process(std::vector<std::string> extra_args = {}, bool encrypted_only = false);
  ~server_process();
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  std::uint16_t tcp_port() const { return tcp_port_; }
  std::uint16_t udp_port() const { return udp_port_; }
  std::optional<std::uint16_t> lobby_port() const { return lobby_port_; }
  /// The metrics endpoint's port, when the test started the server with --metrics-listen.
  std::optional<std::uint16_t> metrics_port() const { return metrics_port_; }
  /// The key file the server was started with.
  const std::string& key_file() const { return key_file_; }

  void signal(int sig);
  /// The server's process id (for /proc/PID/fd, /proc/PID/stat and prlimit).
  int pid() const { return pid_; }
  /// SIGKILL, and waits for the death: the server tells nobody. The test asked for it, so the
  /// destructor does not report the exit as a failure.
  void kill_hard();
  /// This server is meant to exit with an error (its exit code is the test's to check).
  void expect_failure() { expected_failure_ = true; }
  /// Waits for the process to exit; its exit code, or nullopt on timeout (or -signal if killed).
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  /// Waits until a log line containing `text` appears.
  bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  std::string log() const;
  /// Asks for a stats line (SIGUSR1) and parses its key=value pairs, drop reasons included.
  std::map<std::string, std::uint64_t> stats();
  /// Stats once every datagram received has its outcome counted: a datagram's outcome is counted
  /// on its room's strand after its effects (the datagrams it caused) went out, so a snapshot
  /// taken just then can be one short. Polls for up to 2 s; the caller checks the balance.
  std::map<std::string, std::uint64_t> settled_stats();

 private:
  void read_log(int fd);
  void stop();

  int pid_ = -1;
  std::string directory_;
  std::string key_file_;
  bool exited_ = false;
  int exit_code_ = 0;
  bool expected_failure_ = false;
  bool stop_requested_ = false;
  std::uint16_t tcp_port_ = 0, udp_port_ = 0;
  std::optional<std::uint16_t> lobby_port_;
  std::optional<std::uint16_t> metrics_port_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string log_;
  std::thread reader_;
};

/// The path of the chat-server binary under test.
std::string server_binary();

}  // namespace chat_test
