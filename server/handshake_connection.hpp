// One TCRP exchange on one TCP connection: read a request within the deadline, answer at once
// (202 or an error), carry out create or join, send the completion, and close gracefully. The
// reading and every protocol rule are libchat's; this file moves bytes and applies decisions.
//
// Written with completion handlers rather than coroutines: GCC 12 miscompiles parts of coroutine
// bodies (temporaries destroyed twice), and this is the server's front door.
#pragma once

#include "libchat/error.hpp"
#include "libchat/handshake.hpp"
#include "libchat/secure_handshake.hpp"
#include "libchat/tcrp.hpp"
#include "libchat/tcrp_reader.hpp"
#include "server_context.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chat_server {

class room_host;

class handshake_connection : public std::enable_shared_from_this<handshake_connection> {
 public:
  /// How the listener let the connection in. A refused one only reads the request (with a short
  /// deadline) to answer server_busy (the server is over its handshake limit) or rate_limited
  /// (its address is over its own), then closes.
  enum class admission { accepted, server_busy, rate_limited };

  handshake_connection(server_context& ctx, boost::asio::ip::tcp::socket socket, const libchat::ip_address& ip,
                       admission how);
  ~handshake_connection();

  void start();

 private:
  /// A frame to send before closing.
  struct reply {
    libchat::frame_state state;
    std::string payload;
  };

  void read_request();
  void on_request();
  void create_room();
  void create_with(std::optional<libchat::password_hash> hash);
  void join_room();
  void join_checked_password(const std::shared_ptr<room_host>& host,
                             const std::optional<libchat::password_hash>& stored);
  void join_admit(const std::shared_ptr<room_host>& host);

  /// Builds an error reply and logs the rejection (never with a password or a token).
  reply error_reply(libchat::frame_state state, libchat::tcrp_error error, std::string message,
                    std::string_view detail = {});
  reply malformed(boost::system::error_code ec);
  reply busy_reply();
  reply hash_busy_reply(libchat::frame_state state);
  reply tokens_exhausted();
  bool take_hash_slot();
  void give_back_hash_slot();
  reply admit_failed(boost::system::error_code ec);
  libchat::channel_maker channel_maker();
  libchat::completion_response completion(const libchat::issued_token& issued, bool created) const;

  /// Sends a frame, then runs `next` if it went out.
  void send(libchat::frame_state state, const std::string& payload, std::function<void()> next);
  /// Sends the last frame and closes.
  void finish(const reply& r);
  void close_gracefully();
  void drain();
  /// Runs `f` on this connection's strand (from a room strand or a password worker).
  void come_back(std::function<void()> f);
  void arm_deadline(std::chrono::milliseconds after);

  server_context& ctx_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer deadline_;
  admission admission_;
  bool refused() const noexcept { return admission_ != admission::accepted; }
  bool holds_hash_ = false;  // a password hash of this address is in flight for this connection
  std::string peer_;  // for logs
  libchat::ip_address ip_;
  libchat::tcrp_reader reader_;
  libchat::room_request request_;
  std::unique_ptr<libchat::server_handshake> secure_;  // set for an encrypted request
  bool sealed_ = false;                                // the request opened: every reply is sealed
  std::uint8_t operation_ = 0;  // echoed in replies
  std::string room_;            // echoed in replies
  std::vector<std::uint8_t> out_;
  std::array<char, 4096> discard_{};
  std::size_t drained_ = 0;
};

}  // namespace chat_server
