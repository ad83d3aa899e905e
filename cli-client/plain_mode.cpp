#include "plain_mode.hpp"

#include "notice_text.hpp"
#include "terminal_text.hpp"
#include "time_text.hpp"

#include <iostream>

namespace chat_cli {
namespace {

void print(const std::vector<std::string>& lines) {
  for (const std::string& line : lines) std::cout << line << '\n';
  std::cout.flush();  // one flush per entry: a reader of the pipe sees each line at once
}

}  // namespace

plain_view::plain_view(boost::asio::any_io_executor executor, std::string user)
    : user_(std::move(user)), input_(std::move(executor)) {}

void plain_view::start(input_sink& sink) {
  input_.start([&sink](std::string line) { sink.submit_line(line); }, [&sink] { sink.end_of_input(); });
}

void plain_view::connected(const session_info& info) {
  remark("joined " + info.room + " as " + info.user + (info.host ? " (host)" : "") +
             (info.encrypted ? "; encrypted" : "; NOT encrypted (--insecure)"),
         std::chrono::system_clock::now());
}

void plain_view::message(std::string_view from, std::string_view text, wall_time at) {
  print(message_lines(clock_text(at), from, text));
}

void plain_view::own_message(std::string_view text, wall_time at) {
  // stdout may be a log rather than the screen the line was typed on: keep the transcript whole.
  print(message_lines(clock_text(at), user_, text));
}

void plain_view::notice(const libchat::notice& n, std::string_view, wall_time at) {
  const std::string text = describe_notice(n);
  if (!text.empty()) remark(text, at);
}

void plain_view::info(std::string_view text) {
  remark(text, std::chrono::system_clock::now());
}

void plain_view::refused(std::string_view, std::string_view text) {
  remark(text, std::chrono::system_clock::now());
}

void plain_view::closed(close_reason reason, std::string_view why) {
  input_.stop();
  // A notice that ended the session was printed already; the other reasons were not.
  const bool untold = reason == close_reason::server_silent || reason == close_reason::key_limit;
  if (untold && !why.empty()) remark(why, std::chrono::system_clock::now());
}

void plain_view::remark(std::string_view text, wall_time at) {
  print(notice_lines(clock_text(at), text));
}

}  // namespace chat_cli
