// --json: the machine mode. Each stdin line (read on a thread) is one chat message; each event is
// one JSON object on its own line of stdout, flushed at once:
//   {"type":"connected","room":…,"user":…,"host":…,"created":…,"udp_port":…,"encrypted":…,
//    "server_key":"SHA256:…" (null when not encrypted)}
//   {"type":"message","from":…,"text":…,"time":"2026-11-24T10:00:00.123Z"}
//   {"type":"notice","event":…, every other field of the notice, "time":…}
//   {"type":"error","error":CODE,"message":…}    (a refused handshake also has "status"; a server
//                                                 key that is not the pinned one: server_key_mismatch;
//                                                 a reply that could not be authenticated also has
//                                                 "unauthenticated":true)
//   {"type":"closed","reason":"left"|"room_closed"|"timeout"|"server_shutdown"|"server_silent"|
//                             "key_limit"}
#pragma once

#include "frontend.hpp"
#include "handshake.hpp"
#include "stdin_lines.hpp"

#include <boost/asio/any_io_executor.hpp>

namespace chat_cli {

class json_view final : public frontend {
 public:
  explicit json_view(boost::asio::any_io_executor executor);

  void start(input_sink& sink) override;
  void connected(const session_info& info) override;
  void message(std::string_view from, std::string_view text, wall_time at) override;
  void own_message(std::string_view text, wall_time at) override;
  void notice(const libchat::notice& n, std::string_view json, wall_time at) override;
  void info(std::string_view text) override;
  void refused(std::string_view code, std::string_view text) override;
  void closed(close_reason reason, std::string_view why) override;

 private:
  stdin_lines input_;
};

/// Prints an error line: {"type":"error","error":code,"message":message}.
void print_json_error(std::string_view code, std::string_view message);
/// Prints a failed handshake as a JSON error line.
void print_json_handshake_error(const handshake_error& error);

}  // namespace chat_cli
