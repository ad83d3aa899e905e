#include "libchat/tcrp.hpp"

#include "libchat/error.hpp"

#include <cassert>
#include <cstring>
#include <limits>

namespace libchat {

tcrp_header decode_header(std::span<const std::uint8_t, tcrp_header_size> in) noexcept {
  tcrp_header h;
  h.room_name_size = in[0];
  h.operation = in[1];
  h.state = in[2];
  if (!load_big_endian(in.subspan<3, tcrp_size_field_bytes>(), h.payload_size))
    h.payload_size = std::numeric_limits<std::uint64_t>::max();
  return h;
}

boost::system::error_code check_header(const tcrp_header& h, tcrp_direction direction,
                                       std::size_t max_payload) noexcept {
  const bool key_request = h.operation == static_cast<std::uint8_t>(operation::server_key);
  const bool known_operation = key_request || h.operation == static_cast<std::uint8_t>(operation::create_room) ||
                               h.operation == static_cast<std::uint8_t>(operation::join_room);
  if (!known_operation) return errc::unknown_operation;
  if (direction == tcrp_direction::to_server) {
    if (h.state != static_cast<std::uint8_t>(frame_state::request)) return errc::unknown_state;
    // Asking for the server's key names no room.
    if (h.room_name_size == 0 && !key_request) return errc::empty_room_name;
  } else {
    const bool response = h.state == static_cast<std::uint8_t>(frame_state::response);
    if (!response && h.state != static_cast<std::uint8_t>(frame_state::completion)) return errc::unknown_state;
    // A server that rejected a request's header never read its room name: only that error
    // response may carry an empty one.
    if (h.room_name_size == 0 && !response) return errc::empty_room_name;
  }
  if (h.payload_size > max_payload) return errc::payload_too_large;
  return {};
}

void encode_header(const tcrp_header& h, std::span<std::uint8_t, tcrp_header_size> out) noexcept {
  out[0] = h.room_name_size;
  out[1] = h.operation;
  out[2] = h.state;
  store_big_endian(h.payload_size, out.subspan<3, tcrp_size_field_bytes>());
}

std::vector<std::uint8_t> encode_frame(std::uint8_t op, frame_state state, std::string_view room,
                                       std::string_view payload) {
  assert(room.size() <= max_name_bytes);
  std::vector<std::uint8_t> frame(tcrp_header_size + room.size() + payload.size());
  encode_header({static_cast<std::uint8_t>(room.size()), op, static_cast<std::uint8_t>(state), payload.size()},
                std::span<std::uint8_t, tcrp_header_size>(frame.data(), tcrp_header_size));
  if (!room.empty()) std::memcpy(frame.data() + tcrp_header_size, room.data(), room.size());
  if (!payload.empty()) std::memcpy(frame.data() + tcrp_header_size + room.size(), payload.data(), payload.size());
  return frame;
}

}  // namespace libchat
