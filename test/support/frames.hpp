// Frame and datagram builders that write the wire layout by hand, so that tests can state any
// length field, including ones that lie, without going through the encoders under test.
#pragma once

#include "support/hex.hpp"

#include <cstdint>
#include <string_view>

namespace chat_test {

/// A TCRP frame with every header field given explicitly: RoomNameSize, Operation, State, a
/// 29-byte big-endian OperationPayloadSize, then `room` and `payload` as they are.
inline byte_vector tcrp_frame(std::uint8_t room_name_size, std::uint8_t operation, std::uint8_t state,
                              std::uint64_t payload_size, std::string_view room, std::string_view payload) {
  byte_vector out{room_name_size, operation, state};
  out.insert(out.end(), std::size_t{29 - 8}, std::uint8_t{0});
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(payload_size >> shift));
  return concat({out, libchat::as_bytes(room), libchat::as_bytes(payload)});
}

/// A TCRP frame whose sizes match its room name and payload.
inline byte_vector tcrp_frame(std::uint8_t operation, std::uint8_t state, std::string_view room,
                              std::string_view payload) {
  return tcrp_frame(static_cast<std::uint8_t>(room.size()), operation, state, payload.size(), room, payload);
}

/// Client → server: RoomNameSize | TokenSize | room | token | message, with the sizes given.
inline byte_vector client_datagram_bytes(std::uint8_t room_size, std::uint8_t token_size, std::string_view room,
                                   std::string_view token, libchat::byte_view message) {
  const byte_vector sizes{room_size, token_size};
  return concat({sizes, libchat::as_bytes(room), libchat::as_bytes(token), message});
}

inline byte_vector client_datagram_bytes(std::string_view room, std::string_view token, std::string_view message) {
  return client_datagram_bytes(static_cast<std::uint8_t>(room.size()), static_cast<std::uint8_t>(token.size()), room, token,
                         libchat::as_bytes(message));
}

/// Server → client (and lobby): SenderNameSize | sender | text.
inline byte_vector server_datagram_bytes(std::string_view sender, std::string_view text) {
  const byte_vector size{static_cast<std::uint8_t>(sender.size())};
  return concat({size, libchat::as_bytes(sender), libchat::as_bytes(text)});
}

/// A server notice: an empty sender, then the JSON text.
inline byte_vector notice_datagram(std::string_view json) { return server_datagram_bytes({}, json); }

/// A control message as a client sends it: 0x00, then the JSON text.
inline std::string control_message(std::string_view json) {
  std::string out(1, '\0');
  out += json;
  return out;
}

}  // namespace chat_test
