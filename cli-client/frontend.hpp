// The seam between the network session and the three ways of showing it (the ncurses view, plain
// lines, JSON lines). The session decides; a frontend only shows and collects input. Everything
// here runs on the io_context thread.
#pragma once

#include <libchat/control.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace chat_cli {

using wall_time = std::chrono::system_clock::time_point;

/// Where a frontend delivers what the user typed.
class input_sink {
 public:
  /// One line, without its newline. Returns false when it was refused (too long, not UTF-8), so
  /// that an editing view can keep it for the user to fix.
  virtual bool submit_line(std::string_view line) = 0;
  /// End of input (EOF, Ctrl-D): leave the room.
  virtual void end_of_input() = 0;

 protected:
  ~input_sink() = default;
};

struct session_info {
  std::string room;
  std::string user;
  std::string server;  ///< as given with --server
  bool host = false;
  bool created = false;
  std::uint16_t udp_port = 0;
  bool encrypted = false;  ///< every datagram is sealed (false only with --insecure)
  std::string server_key;  ///< the server's key fingerprint ("SHA256:…"); empty when not encrypted
};

/// Why the session ended.
enum class close_reason { left, room_closed, timeout, server_shutdown, server_silent, key_limit };

/// The reason's name in the JSON stream.
constexpr std::string_view close_reason_name(close_reason r) noexcept {
  switch (r) {
    case close_reason::left: return "left";
    case close_reason::room_closed: return "room_closed";
    case close_reason::timeout: return "timeout";
    case close_reason::server_shutdown: return "server_shutdown";
    case close_reason::server_silent: return "server_silent";
    case close_reason::key_limit: return "key_limit";
  }
  return "unknown";
}

class frontend {
 public:
  virtual ~frontend() = default;

  /// Starts delivering input to `sink`.
  virtual void start(input_sink& sink) = 0;
  /// The server answered on UDP: the user is in the room.
  virtual void connected(const session_info& info) = 0;
  virtual void message(std::string_view from, std::string_view text, wall_time at) = 0;
  /// The user's own message, echoed locally (the server does not send it back).
  virtual void own_message(std::string_view text, wall_time at) = 0;
  /// A server notice (never a pong); `json` is its text as received.
  virtual void notice(const libchat::notice& n, std::string_view json, wall_time at) = 0;
  /// The client's own remark for a person (help, hints). Not part of the JSON stream.
  virtual void info(std::string_view text) = 0;
  /// A message was not sent, or the server refused it: `code` (too_long, invalid_utf8…) and a
  /// sentence for a person.
  virtual void refused(std::string_view code, std::string_view text) = 0;
  /// The last call: stop reading input; `why` is a sentence for a person (empty when the user left).
  virtual void closed(close_reason reason, std::string_view why) = 0;
};

}  // namespace chat_cli
