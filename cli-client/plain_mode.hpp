// Plain mode, for when stdin or stdout is not a terminal: lines in from stdin (on a thread),
// "[HH:MM:SS] alice: text" lines out on stdout, flushed one by one. No ncurses, so chat-client
// can be scripted or logged.
#pragma once

#include "frontend.hpp"
#include "stdin_lines.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <string>

namespace chat_cli {

class plain_view final : public frontend {
 public:
  plain_view(boost::asio::any_io_executor executor, std::string user);

  void start(input_sink& sink) override;
  void connected(const session_info& info) override;
  void message(std::string_view from, std::string_view text, wall_time at) override;
  void own_message(std::string_view text, wall_time at) override;
  void notice(const libchat::notice& n, std::string_view json, wall_time at) override;
  void info(std::string_view text) override;
  void refused(std::string_view code, std::string_view text) override;
  void closed(close_reason reason, std::string_view why) override;

 private:
  void remark(std::string_view text, wall_time at);

  std::string user_;
  stdin_lines input_;
};

}  // namespace chat_cli
