// The interactive view (ncursesw): a scrolling message pane, a status line, and an input line
// with UTF-8 editing at the bottom. Incoming lines are drawn as they arrive without touching the
// line being typed. Every ncurses call happens on the io_context thread: keys are read after an
// async_wait on fd 0 says input is ready, with wget_wch in nodelay mode.
#pragma once

#include "frontend.hpp"

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>

namespace chat_cli {

class terminal_view final : public frontend {
 public:
  /// The arguments are shown in the status line.
  terminal_view(boost::asio::io_context& io, std::string server, std::string room, std::string user, bool host);
  /// Gives the terminal back (endwin) if the session did not already: on every way out,
  /// exceptions included. An std::terminate handler does the same while the view is open.
  ~terminal_view() override;
  terminal_view(const terminal_view&) = delete;
  terminal_view& operator=(const terminal_view&) = delete;

  /// Takes over the screen. False when the terminal cannot be driven (unknown TERM); the caller
  /// then falls back to plain mode.
  bool open();

  void start(input_sink& sink) override;
  void connected(const session_info& info) override;
  void message(std::string_view from, std::string_view text, wall_time at) override;
  void own_message(std::string_view text, wall_time at) override;
  void notice(const libchat::notice& n, std::string_view json, wall_time at) override;
  void info(std::string_view text) override;
  void refused(std::string_view code, std::string_view text) override;
  /// Gives the terminal back; unless the user left, prints the conversation on the normal screen
  /// (the room ended under them: the transcript stays); then `why` (if any).
  void closed(close_reason reason, std::string_view why) override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace chat_cli
