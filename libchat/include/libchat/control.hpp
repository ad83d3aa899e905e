// Control messages (client → server, 0x00 then JSON) and notices (server → client, empty sender
// then JSON with an "event").
#pragma once

#include "libchat/bytes.hpp"
#include "libchat/error.hpp"
#include "libchat/export.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace libchat {

enum class control_type : std::uint8_t {
  leave,
  members,  ///< asks the server for the members notice again (it may have been lost)
};

/// Parses a control message including its 0x00 marker. Fails with bad_control for invalid JSON, a
/// non-object, or a missing or unknown "type".
LIBCHAT_EXPORT boost::system::result<control_type> parse_control(byte_view message);
/// The control message including its 0x00 marker.
LIBCHAT_EXPORT std::string encode_control(control_type type);

enum class notice_event : std::uint8_t {
  joined,           ///< "user" joined the room
  left,             ///< "user" left; "reason" says why: leave, timeout or unreachable
  timeout,          ///< you were removed for inactivity and must join again
  room_closed,      ///< the host left; every token of the room is gone
  server_shutdown,  ///< the server is stopping
  pong,             ///< answer to a keepalive
  error,            ///< your last message was refused; "error" says why (too_long)
  members,          ///< who is in the room: "users", one "part" of "parts", maybe "host" (members.hpp)
  unknown,          ///< an event this version does not know (clients ignore or show it)
};

struct notice {
  notice_event event = notice_event::unknown;
  std::string event_name;          ///< the raw "event" string, kept for unknown events
  std::string user;                ///< joined, left
  std::string reason;              ///< left, room_closed
  std::string error;               ///< error
  std::string host;                ///< members: the host's name, when the host has joined
  std::vector<std::string> users;  ///< members: each a valid name
  std::uint32_t part = 0;          ///< members: 1 … parts
  std::uint32_t parts = 0;         ///< members: 1 … max_members_parts
};

LIBCHAT_EXPORT std::string_view notice_event_name(notice_event e) noexcept;

/// The JSON text of a notice (the datagram is a zero sender length followed by it); a members
/// notice as one part, exactly as the server writes it (members.hpp).
LIBCHAT_EXPORT std::string encode_notice(const notice& n);
/// Client side: parses a notice's JSON text. Fails with invalid_json, not_an_object,
/// missing_field (no "event") or wrong_field_type; a members notice also with missing_field or
/// wrong_field_type when "users", "part" or "parts" is absent, out of range, or a name is not a
/// valid name (check_name).
LIBCHAT_EXPORT boost::system::result<notice> parse_notice(std::string_view json);

}  // namespace libchat
