// TCRP, the room handshake over TCP: the 32-byte header and whole-frame encoding.
//
//   offset 0   RoomNameSize          u8   (1–255)
//   offset 1   Operation             u8   (1 create, 2 join, 3 server key)
//   offset 2   State                 u8   (0 request, 1 response, 2 completion)
//   offset 3   OperationPayloadSize  29 bytes, unsigned big-endian
//   offset 32  room name (RoomNameSize bytes), then the payload (OperationPayloadSize bytes)
//
// docs/protocol.md is the normative description.
#pragma once

#include "libchat/bytes.hpp"
#include "libchat/export.hpp"
#include "libchat/limits.hpp"

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace libchat {

enum class operation : std::uint8_t {
  create_room = 1,
  join_room = 2,
  server_key = 3,  ///< ask for the server's public key (encrypted sessions); no room, no payload needed
};

enum class frame_state : std::uint8_t {
  request = 0,     ///< client → server
  response = 1,    ///< server → client, at once: accepted (202) or an error
  completion = 2,  ///< server → client, once the request is done: the token
};

/// Which frames a receiver accepts: a server reads requests, a client reads responses and
/// completions.
enum class tcrp_direction : std::uint8_t { to_server, to_client };

/// A decoded header. `operation` and `state` keep the raw bytes so that an error reply can echo
/// an operation the receiver does not know.
struct tcrp_header {
  std::uint8_t room_name_size = 0;
  std::uint8_t operation = 0;
  std::uint8_t state = 0;
  std::uint64_t payload_size = 0;
};

/// Reads the 32 header bytes as they are. A size field too large for 64 bits reads as
/// UINT64_MAX, which exceeds every limit.
LIBCHAT_EXPORT tcrp_header decode_header(std::span<const std::uint8_t, tcrp_header_size> in) noexcept;

/// Checks a header against what `direction` accepts and against `max_payload`: the room name is
/// not empty (except in an error response), the operation and state are known, the payload fits.
[[nodiscard]] LIBCHAT_EXPORT boost::system::error_code check_header(const tcrp_header& header, tcrp_direction direction,
                                                                    std::size_t max_payload) noexcept;

/// Writes a header. Precondition: payload_size < 2^64 (always true here).
LIBCHAT_EXPORT void encode_header(const tcrp_header& header, std::span<std::uint8_t, tcrp_header_size> out) noexcept;

/// Encodes a whole frame (header, room name, payload). The room name may be empty only in an
/// error reply to a request whose header could not be accepted (see docs/protocol.md).
/// Precondition: room.size() <= 255.
LIBCHAT_EXPORT std::vector<std::uint8_t> encode_frame(std::uint8_t operation, frame_state state, std::string_view room,
                                                      std::string_view payload);

}  // namespace libchat
