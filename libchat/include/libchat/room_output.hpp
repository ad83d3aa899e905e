// What a room (or the lobby) hands back to its adapter: datagrams to send, events to log, and the
// outcome of each datagram it was given. The room never touches a socket or a clock.
#pragma once

#include "libchat/address.hpp"
#include "libchat/bytes.hpp"
#include "libchat/error.hpp"
#include "libchat/export.hpp"
#include "libchat/time.hpp"

#include <string_view>

namespace libchat {

/// Membership changes worth a log line. Views are valid only during the callback.
struct room_event {
  enum class kind : std::uint8_t {
    admitted,       ///< a token was issued (handshake done)
    joined,         ///< the token's first datagram arrived: `endpoint` is now a member
    left,           ///< the member sent leave
    timed_out,      ///< silent for longer than the inactivity timeout
    unreachable,    ///< the kernel reported the member's address unreachable too often
    token_expired,  ///< the token was never used within its lifetime
    roamed,         ///< an encrypted member's newest datagram came from another port of its IP
                    ///< (a NAT rebinding): `endpoint` is the new one, `previous` the old
    evicted,        ///< removed because the room closed or the server is stopping
    closed,         ///< the room closed (`reason` says why); it accepts nothing any more
    shut_down,      ///< the server is stopping
  };
  kind what;
  std::string_view room;
  std::string_view username;  ///< empty for closed and shut_down
  peer_address endpoint;      ///< valid for members that had joined
  std::string_view reason;    ///< for closed: host_left, host_timeout, host_unreachable, host_never_joined
  bool joined = false;        ///< the member had joined (sent a datagram), so `endpoint` is valid
  ip_address ip;              ///< the address the member's token is bound to (member events)
  peer_address previous{};    ///< for roamed: the endpoint the member left
};

/// The kind's name, as logs and tests write it ("timed_out").
constexpr std::string_view room_event_kind_name(room_event::kind k) noexcept {
  using kind = room_event::kind;
  switch (k) {
    case kind::admitted: return "admitted";
    case kind::joined: return "joined";
    case kind::left: return "left";
    case kind::timed_out: return "timed_out";
    case kind::unreachable: return "unreachable";
    case kind::token_expired: return "token_expired";
    case kind::roamed: return "roamed";
    case kind::evicted: return "evicted";
    case kind::closed: return "closed";
    case kind::shut_down: return "shut_down";
  }
  return "unknown";
}

/// The adapter's side of a room. Implementations must not call back into the room.
class LIBCHAT_EXPORT room_output {
 public:
  /// Sends one server→client datagram. The bytes are valid only during the call.
  virtual void send(const peer_address& to, byte_view datagram) = 0;
  virtual void on_event(const room_event& event) = 0;

 protected:
  ~room_output() = default;
};

/// What happened to one datagram. Every datagram has exactly one outcome, so that
/// received = relayed + keepalive + control + dropped, for counters that add up.
struct datagram_outcome {
  enum class kind : std::uint8_t { relayed, keepalive, control, dropped };
  kind what = kind::dropped;
  errc reason{};  ///< set when dropped

  static datagram_outcome drop(errc why) noexcept { return {kind::dropped, why}; }
};

}  // namespace libchat
