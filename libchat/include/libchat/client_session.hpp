// The client's side of a chat session after the handshake, as a machine with no I/O: it builds
// every datagram the client sends (plaintext with the token, or sealed), reads every datagram it
// receives (opening it first when sealed), and keeps the one rule for keepalives and a silent
// server, written once in docs/protocol.md §7.5:
//
//   - right after the handshake a keepalive goes out, then one every `bind_interval` (1 s) until
//     the first pong: the client is then a member ("bound");
//   - `bind_attempts` (5) keepalives without a pong: the server does not answer on UDP;
//   - once bound, a keepalive every `keepalive_interval` (15 s); `silent_after` (3) in a row
//     without a pong: the server stopped answering.
//
// Flow: start(now) and on_timer(now) say whether to send a keepalive (keepalive() builds it) or to
// give up; next_deadline() says when on_timer is due; on_datagram(bytes, now) turns what arrived
// into an event; seal(message) builds a chat or control datagram. Time is an argument.
#pragma once

#include "libchat/bytes.hpp"
#include "libchat/control.hpp"
#include "libchat/export.hpp"
#include "libchat/limits.hpp"
#include "libchat/secure_channel.hpp"
#include "libchat/time.hpp"

#include <boost/system/result.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace libchat {

struct client_session_config {
  std::chrono::milliseconds bind_interval{1000};
  unsigned bind_attempts = 5;
  std::chrono::milliseconds keepalive_interval{15000};
  unsigned silent_after = 3;
};

/// What the session asks of its driver, or tells it.
struct session_event {
  enum class kind : std::uint8_t {
    none,            ///< nothing to do
    send_keepalive,  ///< send keepalive_datagram()
    bound,           ///< the first pong: the server knows our address, we are a member
    message,         ///< a chat message: `sender`, `text` (views into the datagram or the session)
    notice,          ///< a server notice other than pong: `received`
    dropped,         ///< a datagram that does not decode, open or hold valid text (counted)
    never_bound,     ///< bind_attempts keepalives went unanswered: the server does not answer on UDP
    silent,          ///< silent_after keepalives in a row went unanswered: the server is gone
  };
  kind what = kind::none;
  std::string_view sender;
  std::string_view text;
  notice received;  ///< for notice
  std::string_view notice_json;  ///< for notice: its JSON as it came (for --json)
};

class LIBCHAT_EXPORT client_session {
 public:
  /// `token`: what plaintext datagrams carry. `channel`: set for an encrypted session.
  client_session(const client_session_config& config, std::string room, std::string token,
                 std::unique_ptr<secure_channel> channel);

  /// The session begins: always send_keepalive (the first one makes us a member).
  session_event start(time_point now);
  /// When on_timer is due next; nullopt once the session gave up.
  std::optional<time_point> next_deadline() const noexcept { return deadline_; }
  session_event on_timer(time_point now);
  session_event on_datagram(byte_view datagram, time_point now);

  /// The longest chat text a datagram can carry both ways (into ours, and into the server's relay
  /// datagram after `username`).
  std::size_t max_text(std::string_view username) const noexcept;
  /// Builds the datagram that carries `message` (empty: a keepalive; 0x00…: a control message).
  /// Fails with key_limit when the session's key is used up (join again), or oversize.
  boost::system::result<byte_view> seal(byte_view message);
  boost::system::result<byte_view> keepalive_datagram() { return seal({}); }

  bool bound() const noexcept { return bound_; }
  bool encrypted() const noexcept { return channel_ != nullptr; }
  std::uint64_t dropped() const noexcept { return dropped_; }

 private:
  session_event keepalive_due(time_point now);
  session_event drop();

  client_session_config config_;
  std::string room_;
  std::string token_;
  std::unique_ptr<secure_channel> channel_;
  bool bound_ = false;
  unsigned unanswered_ = 0;  // keepalives sent since the last pong
  std::optional<time_point> deadline_;
  std::uint64_t dropped_ = 0;
  // A sealed server datagram is larger than a plaintext one by the counter and the tag.
  std::array<std::uint8_t, max_client_datagram> send_buffer_{};
  std::array<std::uint8_t, sealed_server_size(max_server_datagram)> opened_buffer_{};
};

}  // namespace libchat
