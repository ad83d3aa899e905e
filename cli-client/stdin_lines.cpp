#include "stdin_lines.hpp"

#include <boost/asio/post.hpp>

#include <iostream>
#include <mutex>

namespace chat_cli {

// What the reader thread and the io_context thread share: whether delivery is still wanted.
// The callbacks live here too: a posted line may run after the thread has ended.
struct stdin_lines::shared {
  std::mutex mutex;
  bool open = true;
  std::function<void(std::string)> on_line;
  std::function<void()> on_eof;
};

stdin_lines::stdin_lines(boost::asio::any_io_executor executor)
    : executor_(std::move(executor)), shared_(std::make_shared<shared>()) {}

stdin_lines::~stdin_lines() {
  stop();
  if (thread_.joinable()) thread_.detach();
}

void stdin_lines::start(std::function<void(std::string)> on_line, std::function<void()> on_eof) {
  shared_->on_line = std::move(on_line);
  shared_->on_eof = std::move(on_eof);
  thread_ = std::thread([state = shared_, executor = executor_] {
    // The lock is held across the post so that stop() cannot slip in between the check and it.
    auto deliver = [&](auto handler) {
      std::lock_guard lock(state->mutex);
      if (!state->open) return false;
      boost::asio::post(executor, [state, handler = std::move(handler)]() mutable {
        bool open = false;
        {
          std::lock_guard inner(state->mutex);
          open = state->open;
        }
        if (open) handler();
      });
      return true;
    };
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!deliver([state, text = std::move(line)]() mutable { state->on_line(std::move(text)); })) return;
      line.clear();
    }
    deliver([state] { state->on_eof(); });
  });
}

void stdin_lines::stop() {
  std::lock_guard lock(shared_->mutex);
  shared_->open = false;
}

}  // namespace chat_cli
