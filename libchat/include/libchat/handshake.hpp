// The JSON payloads of TCRP frames: the client's request, the server's response (accepted or an
// error) and its completion (the token). docs/protocol.md specifies each key.
#pragma once

#include "libchat/error.hpp"
#include "libchat/export.hpp"
#include "libchat/time.hpp"

#include <boost/system/result.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace libchat {

/// Longest password accepted in a request, in bytes.
inline constexpr std::size_t max_password_bytes = 1024;
/// Largest "time" a request may carry: 9999-12-31T23:59:59Z, in Unix seconds.
inline constexpr std::int64_t max_request_time = 253'402'300'799;

/// The payload of a create or join request: {"username": "...", "password": "..."}.
struct room_request {
  std::string username;
  /// Absent, null and "" all mean "no password".
  std::optional<std::string> password;
  /// "time": when the client sealed the request, by its clock. Sealed requests carry it (the
  /// server refuses replays and requests outside its window, §12.3); plaintext ones need not.
  std::optional<wall_time> sent_at;
};

/// Parses a request payload. Unknown keys are ignored; a duplicate key, a missing or invalid
/// username, a password that is not a string (or null), a time that is not an integer from 0 to
/// max_request_time, or anything that is not one JSON object is an error (every one of them
/// answered with bad_request).
LIBCHAT_EXPORT boost::system::result<room_request> parse_room_request(std::string_view payload);
LIBCHAT_EXPORT std::string encode_room_request(const room_request& request);

/// State 1, status 202: the server took the request and is working on it.
struct accepted_response {
  std::string message;
};

/// State 1, status 4xx/5xx: the request failed; the server closes the connection.
struct error_response {
  tcrp_error error = tcrp_error::bad_request;
  std::string message;  ///< a sentence for a person
};

/// State 2: the room was created (201) or joined (200).
struct completion_response {
  bool created = false;  ///< status 201 when true, 200 when false
  std::string token;
  std::uint16_t udp_port = 0;
  bool host = false;
  /// Encrypted sessions only: the session id that routes the member's sealed datagrams.
  std::optional<std::uint64_t> session;
  /// Encrypted sessions only, during a key rotation: the server's next static public key
  /// ("next_key", with "next_fingerprint"). Trustworthy only because the completion is sealed by
  /// the current key; a plaintext completion's is ignored by clients (docs/protocol.md §12.3).
  std::optional<std::array<std::uint8_t, 32>> next_key;
  /// Encrypted sessions only, when not the default 2^26: the counters per datagram key before
  /// both sides update it ("key_datagrams", a power of two from 2^11 to 2^26; §12.4).
  std::optional<std::uint64_t> key_datagrams;
  /// Cluster mode: the IP address (textual IPv4 or IPv6, no brackets) of the node that holds the
  /// room, where the member sends its datagrams ("udp_host"). Absent: the TCP connection's host.
  std::optional<std::string> udp_host;
};

/// True for what "udp_host" may hold: an IPv4 address in dotted-quad form or an IPv6 address in
/// its textual form, without brackets or a zone.
LIBCHAT_EXPORT bool valid_udp_host(std::string_view text) noexcept;

LIBCHAT_EXPORT std::string encode_accepted(const accepted_response& r);
LIBCHAT_EXPORT std::string encode_error(const error_response& r);
LIBCHAT_EXPORT std::string encode_completion(const completion_response& r);

/// Client side: parses a state-1 payload into either form. A status that disagrees with the
/// error code, or an unknown error code, is accepted as internal_error so that a newer server's
/// codes still reach the user with their message.
LIBCHAT_EXPORT boost::system::result<std::variant<accepted_response, error_response>> parse_response(
    std::string_view payload);
/// Client side: parses a successful state-2 payload (status 200 or 201).
LIBCHAT_EXPORT boost::system::result<completion_response> parse_completion(std::string_view payload);
/// Client side: parses any state-2 payload. A request can still fail after it was accepted (a
/// wrong password is found only after hashing; a name can be taken meanwhile): the completion
/// then carries an error in the same shape as a state-1 error.
LIBCHAT_EXPORT boost::system::result<std::variant<completion_response, error_response>> parse_final_response(
    std::string_view payload);

}  // namespace libchat
