// Sizes fixed by the protocol (docs/protocol.md), and the receiver-side limits that are
// configurable.
#pragma once

#include <cstddef>
#include <cstdint>

namespace libchat {

/// TCRP header: RoomNameSize u8 | Operation u8 | State u8 | OperationPayloadSize (29 bytes, BE).
inline constexpr std::size_t tcrp_header_size = 32;
inline constexpr std::size_t tcrp_size_field_bytes = 29;
/// Payload limit the server applies unless configured otherwise (--max-payload).
inline constexpr std::size_t default_max_payload = 8192;

/// Room names and usernames: 1–255 bytes of UTF-8.
inline constexpr std::size_t max_name_bytes = 255;

/// Client→server chat datagram: RoomNameSize u8 | TokenSize u8 | room | token | message.
inline constexpr std::size_t max_client_datagram = 4096;
/// Server→client chat datagram: SenderNameSize u8 | sender | text.
inline constexpr std::size_t max_server_datagram = 4094;
/// Buffer size that lets a receiver see that a datagram was larger than allowed instead of
/// silently truncating it to the limit.
inline constexpr std::size_t receive_buffer_size = max_client_datagram + 1;

/// Tokens: at most 255 printable bytes (TokenSize is a u8).
inline constexpr std::size_t max_token_bytes = 255;

/// First byte that marks a chat message as a control message.
inline constexpr std::uint8_t control_marker = 0x00;

}  // namespace libchat
