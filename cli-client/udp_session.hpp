// The chat session over UDP, after the handshake: one socket connected to the server, the
// keepalive timer that proves both sides are alive, the receive loop, and what the user's input
// means. Datagrams are built and read by libchat; what to show is the frontend's business.
//
// The session's rules are libchat::client_session's: building and reading datagrams (sealed for an
// encrypted session), the keepalives and when the server counts as gone (docs/protocol.md §7.5).
// This file owns the socket, the timer and the signals, and carries out what the session decides.
#pragma once

#include "frontend.hpp"
#include "handshake.hpp"

#include <libchat/client_session.hpp>
#include <libchat/limits.hpp>
#include <libchat/members.hpp>
#include <libchat/secure_channel.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace chat_cli {

struct session_params {
  session_grant grant;
  session_info info;
  std::chrono::seconds keepalive{15};
  /// Interactive and plain modes read /commands; JSON mode sends every line as it is.
  bool commands = true;
};

class udp_session final : public input_sink {
 public:
  udp_session(boost::asio::io_context& io, session_params params, frontend& view);
  udp_session(const udp_session&) = delete;
  udp_session& operator=(const udp_session&) = delete;

  /// Opens the socket, sends the first keepalive, and starts the loops and the frontend's input.
  void start();
  /// Valid once the io_context has stopped (see exit_codes.hpp).
  int exit_code() const noexcept { return exit_code_; }
  /// Datagrams from the server that were dropped (malformed, invalid UTF-8, bad notice JSON, or
  /// for an encrypted session one that did not open: replayed, failed authentication).
  std::uint64_t dropped() const noexcept { return session_.dropped(); }

  bool submit_line(std::string_view line) override;
  void end_of_input() override;

 private:
  bool send_text(std::string_view text);
  /// False when the session ended instead (the session key is used up).
  bool send_message(std::string_view message);
  void leave();
  void finish(close_reason reason, int code, std::string why);

  void apply(const libchat::session_event& e);
  void arm_timer();
  void start_receive();
  void on_notice(const libchat::notice& n, std::string_view json);
  void on_members(const libchat::notice& n, std::string_view json);
  /// /who: the list as known; asks the server again when it is incomplete.
  void show_members();
  void end_by_notice(close_reason reason, const libchat::notice& n, std::string_view json);

  boost::asio::io_context& io_;
  session_params params_;
  frontend& view_;
  boost::asio::ip::udp::socket socket_;
  boost::asio::steady_timer keepalive_timer_;
  boost::asio::signal_set signals_;

  libchat::client_session session_;
  libchat::member_roster roster_;  // from the members notice, then joined/left
  bool members_shown_ = false;     // the complete list was shown once, on joining
  std::optional<libchat::time_point> armed_for_;
  std::uint64_t timer_generation_ = 0;
  bool finished_ = false;
  int exit_code_ = 0;

  // A sealed server datagram is larger than a plaintext one by the counter and the tag; one byte
  // more lets an oversized datagram be seen instead of silently truncated.
  static constexpr std::size_t receive_capacity = libchat::sealed_server_size(libchat::max_server_datagram) + 1;

  std::array<std::uint8_t, receive_capacity> receive_buffer_{};
};

}  // namespace chat_cli
