// Drives the real chat-client for tests: in --json mode through pipes, or in its full-screen
// terminal view inside a detached tmux session (send-keys in, capture-pane out).
#pragma once

#include "server_process.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace chat_test {

std::string client_binary();

/// "127.0.0.1:PORT" of the server's TCP port, as chat-client's --server takes it.
inline std::string server_address(const server_process& s) {
  return "127.0.0.1:" + std::to_string(s.tcp_port());
}

/// chat-client's arguments for talking to `s`: it encrypts by default and pins the server's key,
/// here in a known-servers file in the server's own temporary directory, never the user's.
inline std::vector<std::string> client_args(const server_process& s, std::vector<std::string> args) {
  const std::string known = (std::filesystem::path(s.key_file()).parent_path() / "known_servers").string();
  args.insert(args.begin(), {"--server", server_address(s), "--known-servers", known});
  return args;
}

/// chat-client --json with its stdin and stdout on pipes.
class json_client {
 public:
  explicit json_client(std::vector<std::string> args);
  ~json_client();
  json_client(const json_client&) = delete;
  json_client& operator=(const json_client&) = delete;

  void send_line(const std::string& line);
  void close_stdin();
  /// The next line of stdout, or nullopt on timeout or EOF.
  std::optional<std::string> next_line(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// Reads lines until one contains `text`; returns it.
  std::optional<std::string> wait_for(const std::string& text,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(5));
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  int pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  std::string buffered_;
  std::optional<int> exit_code_;
};

/// chat-client in a detached tmux session; after the client exits the pane stays with
/// "EXIT=<code>" printed, so that its last words and exit code can be read.
class tmux_client {
 public:
  explicit tmux_client(const std::vector<std::string>& args, int width = 100, int height = 24);
  ~tmux_client();
  tmux_client(const tmux_client&) = delete;
  tmux_client& operator=(const tmux_client&) = delete;

  void type(const std::string& keys);  ///< literal text, no Enter
  void press(const std::string& key);  ///< a tmux key name: Enter, C-c, PageUp, ...
  std::string screen() const;
  /// Waits until the screen contains `text`.
  bool wait_for(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

 private:
  std::string socket_;
  std::string session_;
};

/// True if tmux can be run here.
bool have_tmux();

/// What one run of chat-client to its end left behind.
struct client_run {
  std::optional<int> exit_code;  ///< nullopt if it had to be killed (timeout)
  std::string out, err;
};
/// Runs chat-client with `args`, stdin from /dev/null, and the test's environment with `env`
/// ("NAME=value" sets, "NAME" alone removes); kills it (by its pid) after `timeout`.
client_run run_client(const std::vector<std::string>& args, const std::vector<std::string>& env,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace chat_test
