// The chat session over UDP, after the handshake: one socket connected to the server, the
// keepalive timer that proves both sides are alive, the receive loop, and what the user's input
// means. Datagrams are built and read by libchat; what to show is the frontend's business.
//
// Encrypted sessions (the grant carries a channel): every datagram we send is sealed (keepalives
// and the leave message too), every datagram we receive must open before it is read; one that does
// not (tampered, replayed, not from the server) is dropped and counted.
//
// Keepalives: right after the handshake one is sent every second until the first pong binds our
// address (five unanswered: the server does not answer on UDP), then one every --keepalive
// seconds; three in a row without a pong mean the server is gone.
#pragma once

#include "frontend.hpp"
#include "handshake.hpp"

#include <libchat/limits.hpp>
#include <libchat/secure_channel.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstdint>
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
  std::uint64_t dropped() const noexcept { return dropped_; }

  bool submit_line(std::string_view line) override;
  void end_of_input() override;

 private:
  bool send_text(std::string_view text);
  /// False when the session ended instead (the session key is used up).
  bool send_message(std::string_view message);
  void leave();
  void finish(close_reason reason, int code, std::string why);

  void arm_keepalive(std::chrono::steady_clock::duration after);
  void on_keepalive_due();
  void start_receive();
  void on_datagram(std::size_t size);
  void on_notice(std::string_view json);
  void end_by_notice(close_reason reason, const libchat::notice& n, std::string_view json);

  boost::asio::io_context& io_;
  session_params params_;
  frontend& view_;
  boost::asio::ip::udp::socket socket_;
  boost::asio::steady_timer keepalive_timer_;
  boost::asio::signal_set signals_;

  std::size_t max_text_ = 0;
  bool bound_ = false;       // a pong came back: the server knows our address
  unsigned unanswered_ = 0;  // keepalives sent since the last pong
  std::uint64_t timer_generation_ = 0;
  bool finished_ = false;
  int exit_code_ = 0;
  std::uint64_t dropped_ = 0;

  // A sealed server datagram is larger than a plaintext one by the counter and the tag; one byte
  // more lets an oversized datagram be seen instead of silently truncated.
  static constexpr std::size_t receive_capacity = libchat::sealed_server_size(libchat::max_server_datagram) + 1;

  std::array<std::uint8_t, libchat::max_client_datagram> send_buffer_{};
  std::array<std::uint8_t, receive_capacity> receive_buffer_{};
  std::array<std::uint8_t, receive_capacity> opened_buffer_{};  // an encrypted datagram, opened
};

}  // namespace chat_cli
