#include "libchat/error.hpp"

#include <array>
#include <string>

namespace libchat {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "libchat"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::empty_room_name: return "the room name is empty";
      case errc::unknown_operation: return "unknown operation";
      case errc::unknown_state: return "unexpected state for this direction";
      case errc::payload_too_large: return "the payload is larger than allowed";
      case errc::trailing_bytes: return "bytes after the declared payload";
      case errc::invalid_utf8: return "not valid UTF-8";
      case errc::control_character: return "a name contains a control character";
      case errc::empty_name: return "the username is empty";
      case errc::name_too_long: return "the name is longer than 255 bytes";
      case errc::invalid_json: return "the payload is not valid JSON";
      case errc::not_an_object: return "the payload is not a JSON object";
      case errc::duplicate_key: return "the JSON object repeats a key";
      case errc::missing_field: return "a required field is missing";
      case errc::wrong_field_type: return "a field has the wrong type or value";
      case errc::bad_password: return "wrong password";
      case errc::room_not_found: return "no such room";
      case errc::room_exists: return "a room with that name exists";
      case errc::name_taken: return "that username is already in the room";
      case errc::room_full: return "the room is full";
      case errc::server_busy: return "the server is busy";
      case errc::malformed: return "length fields disagree with the datagram";
      case errc::oversize: return "larger than the protocol allows";
      case errc::unknown_room: return "no open room has that name";
      case errc::bad_token: return "unknown token";
      case errc::ip_mismatch: return "the token belongs to another IP address";
      case errc::port_mismatch: return "the token is bound to another port";
      case errc::too_long: return "the message does not fit in a datagram";
      case errc::bad_control: return "invalid control message";
      case errc::room_closed: return "the room is closed";
      case errc::lobby_full: return "the lobby is full";
      case errc::overloaded: return "no free receive buffer";
      case errc::endpoint_in_use: return "another member already uses that address and port";
      case errc::bad_handshake: return "the encrypted handshake did not verify";
      case errc::encryption_required: return "encryption is required";
      case errc::encryption_mismatch: return "the room's encryption does not match the request's";
      case errc::replay: return "a datagram counter seen before or too old";
      case errc::auth_failed: return "a datagram that does not authenticate";
      case errc::key_limit: return "the session key reached its limit";
      case errc::rate_limited: return "over a rate limit";
      case errc::weak_key: return "the key is a small-order X25519 point, which no key agreement can use";
    }
    return "unknown libchat error";
  }
};

struct wire_entry {
  tcrp_error error;
  std::string_view name;
  int status;
};

constexpr std::array<wire_entry, 11> wire_table{{
    {tcrp_error::bad_request, "bad_request", 400},
    {tcrp_error::bad_password, "bad_password", 401},
    {tcrp_error::room_not_found, "room_not_found", 404},
    {tcrp_error::room_exists, "room_exists", 409},
    {tcrp_error::name_taken, "name_taken", 409},
    {tcrp_error::room_full, "room_full", 403},
    {tcrp_error::server_busy, "server_busy", 503},
    {tcrp_error::internal_error, "internal_error", 500},
    {tcrp_error::encryption_required, "encryption_required", 426},
    {tcrp_error::encryption_mismatch, "encryption_mismatch", 409},
    {tcrp_error::rate_limited, "rate_limited", 429},
}};

}  // namespace

const boost::system::error_category& libchat_category() noexcept {
  static const category instance;
  return instance;
}

std::string_view errc_name(errc e) noexcept {
  switch (e) {
    case errc::empty_room_name: return "empty_room_name";
    case errc::unknown_operation: return "unknown_operation";
    case errc::unknown_state: return "unknown_state";
    case errc::payload_too_large: return "payload_too_large";
    case errc::trailing_bytes: return "trailing_bytes";
    case errc::invalid_utf8: return "invalid_utf8";
    case errc::control_character: return "control_character";
    case errc::empty_name: return "empty_name";
    case errc::name_too_long: return "name_too_long";
    case errc::invalid_json: return "invalid_json";
    case errc::not_an_object: return "not_an_object";
    case errc::duplicate_key: return "duplicate_key";
    case errc::missing_field: return "missing_field";
    case errc::wrong_field_type: return "wrong_field_type";
    case errc::bad_password: return "bad_password";
    case errc::room_not_found: return "room_not_found";
    case errc::room_exists: return "room_exists";
    case errc::name_taken: return "name_taken";
    case errc::room_full: return "room_full";
    case errc::server_busy: return "server_busy";
    case errc::malformed: return "malformed";
    case errc::oversize: return "oversize";
    case errc::unknown_room: return "unknown_room";
    case errc::bad_token: return "bad_token";
    case errc::ip_mismatch: return "ip_mismatch";
    case errc::port_mismatch: return "port_mismatch";
    case errc::too_long: return "too_long";
    case errc::bad_control: return "bad_control";
    case errc::room_closed: return "room_closed";
    case errc::lobby_full: return "lobby_full";
    case errc::overloaded: return "overloaded";
    case errc::endpoint_in_use: return "endpoint_in_use";
    case errc::bad_handshake: return "bad_handshake";
    case errc::encryption_required: return "encryption_required";
    case errc::encryption_mismatch: return "encryption_mismatch";
    case errc::replay: return "replay";
    case errc::auth_failed: return "auth_failed";
    case errc::key_limit: return "key_limit";
    case errc::rate_limited: return "rate_limited";
    case errc::weak_key: return "weak_key";
  }
  return "unknown";
}

std::string_view wire_name(tcrp_error e) noexcept {
  for (const auto& entry : wire_table)
    if (entry.error == e) return entry.name;
  return "internal_error";
}

int http_status(tcrp_error e) noexcept {
  for (const auto& entry : wire_table)
    if (entry.error == e) return entry.status;
  return 500;
}

bool parse_wire_name(std::string_view name, tcrp_error& out) noexcept {
  for (const auto& entry : wire_table) {
    if (entry.name == name) {
      out = entry.error;
      return true;
    }
  }
  return false;
}

tcrp_error to_tcrp_error(errc e) noexcept {
  switch (e) {
    case errc::bad_password: return tcrp_error::bad_password;
    case errc::room_not_found:
    case errc::room_closed: return tcrp_error::room_not_found;
    case errc::room_exists: return tcrp_error::room_exists;
    case errc::name_taken: return tcrp_error::name_taken;
    case errc::room_full: return tcrp_error::room_full;
    case errc::server_busy: return tcrp_error::server_busy;
    case errc::encryption_required: return tcrp_error::encryption_required;
    case errc::encryption_mismatch: return tcrp_error::encryption_mismatch;
    case errc::rate_limited: return tcrp_error::rate_limited;
    default: return tcrp_error::bad_request;
  }
}

}  // namespace libchat
