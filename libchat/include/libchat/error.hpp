// Every failure libchat reports, as a boost::system error category, and the mapping from those
// failures to the error codes of the TCRP wire protocol.
#pragma once

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <string_view>
#include <type_traits>

namespace libchat {

/// What went wrong. Decoders and the room state machine return these; the server maps the
/// handshake ones to a TCRP error reply (to_tcrp_error) and counts the datagram ones as drops.
enum class errc : std::uint8_t {
  // TCRP framing
  empty_room_name = 1,  ///< RoomNameSize is 0
  unknown_operation,    ///< Operation is not one the receiver accepts
  unknown_state,        ///< State is not one the receiver accepts in this direction
  payload_too_large,    ///< OperationPayloadSize exceeds the receiver's limit
  trailing_bytes,       ///< bytes arrived after the declared payload
  // text
  invalid_utf8,       ///< not well-formed UTF-8
  control_character,  ///< a name contains C0, DEL or C1 control characters
  empty_name,         ///< a username is empty
  name_too_long,      ///< a username is longer than 255 bytes
  // JSON payloads
  invalid_json,      ///< not one complete JSON text
  not_an_object,     ///< the JSON text is not an object
  duplicate_key,     ///< the object names a key twice
  missing_field,     ///< a required field is absent
  wrong_field_type,  ///< a field has the wrong JSON type or an out-of-range value
  // room decisions (each has a TCRP error code of its own)
  bad_password,
  room_not_found,
  room_exists,
  name_taken,
  room_full,
  server_busy,
  // chat datagrams (counted drops)
  malformed,      ///< length fields disagree with the datagram's size
  oversize,       ///< larger than the protocol allows
  unknown_room,   ///< no open room has that name
  bad_token,      ///< the room has no such token
  ip_mismatch,    ///< the token was issued to another IP address
  port_mismatch,  ///< the token is bound to another port of that IP
  too_long,       ///< chat text would not fit a server→client datagram
  bad_control,    ///< a control message that is not valid JSON or of an unknown type
  room_closed,    ///< the room closed while the datagram was in flight
  lobby_full,     ///< the lobby holds as many addresses as it may
  overloaded,     ///< the receiver had no free buffer for the datagram
  endpoint_in_use,  ///< another member of the room already sends from that address and port
  // encrypted sessions
  bad_handshake,        ///< an encrypted handshake message that does not open (wrong key, tampered, malformed)
  encryption_required,  ///< a plaintext handshake where the server (or room) requires encryption
  encryption_mismatch,  ///< an encrypted join to a plaintext room
  replay,               ///< a sealed datagram whose counter was seen or is too old
  auth_failed,          ///< a sealed datagram whose tag does not verify
  key_limit,            ///< a session key sealed as many datagrams as it may
  rate_limited,         ///< over a rate limit (chat messages per member, joins per room, handshakes per address)
  weak_key,             ///< a peer's X25519 public key is a small-order point: no secret can be agreed with it
};

const boost::system::error_category& libchat_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), libchat_category()};
}

/// A short snake_case name for an errc, as used in counters and logs ("port_mismatch").
std::string_view errc_name(errc e) noexcept;

/// The error codes a TCRP error reply can carry. See docs/protocol.md.
enum class tcrp_error : std::uint8_t {
  bad_request,
  bad_password,
  room_not_found,
  room_exists,
  name_taken,
  room_full,
  server_busy,
  internal_error,
  encryption_required,
  encryption_mismatch,
  rate_limited,
};

/// The code's spelling on the wire ("room_not_found").
std::string_view wire_name(tcrp_error e) noexcept;
/// The HTTP-like status that accompanies the code (404 for room_not_found).
int http_status(tcrp_error e) noexcept;
/// Parses a wire name; returns false for an unknown name.
bool parse_wire_name(std::string_view name, tcrp_error& out) noexcept;
/// Which TCRP error answers a handshake that failed with `e`. Every framing, text and JSON
/// failure is a bad_request.
tcrp_error to_tcrp_error(errc e) noexcept;

}  // namespace libchat

template <>
struct boost::system::is_error_code_enum<libchat::errc> : std::true_type {};
