// Reads standard input line by line on a thread of its own and hands each line to the
// io_context thread with post, as Asio's chat_client example does: a blocking getline works for
// every kind of stdin (terminal, pipe, file), and all session state stays on one thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace chat_cli {

class stdin_lines {
 public:
  explicit stdin_lines(boost::asio::any_io_executor executor);
  /// Stops delivery. The thread may be blocked in a read that will never return: it is then
  /// detached, and it posts nothing more, since it checks `open` before each post.
  ~stdin_lines();
  stdin_lines(const stdin_lines&) = delete;
  stdin_lines& operator=(const stdin_lines&) = delete;

  /// Starts the thread. `on_line` gets each line without its newline (and without a trailing
  /// CR); `on_eof` is called once at the end of input. Both run on the executor.
  void start(std::function<void(std::string)> on_line, std::function<void()> on_eof);
  /// No more calls after this, even for lines already read.
  void stop();

 private:
  struct shared;
  boost::asio::any_io_executor executor_;
  std::shared_ptr<shared> shared_;
  std::thread thread_;
};

}  // namespace chat_cli
