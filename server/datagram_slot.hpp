// A received datagram on its way from the receive loop to its room's strand. Slots come from a
// fixed_pool owned by the relay, so the hot path never allocates.
#pragma once

#include "libchat/address.hpp"
#include "libchat/datagram.hpp"
#include "libchat/limits.hpp"

#include <array>
#include <cstdint>

namespace chat_server {

class udp_sender;

struct datagram_slot {
  std::array<std::uint8_t, libchat::receive_buffer_size> bytes;
  std::size_t size = 0;
  libchat::peer_address from;
  libchat::client_datagram decoded;  ///< views into bytes
  /// The sender of the socket it arrived on: what it causes leaves through the same socket, so
  /// that each receiving thread writes to its own socket's buffers and locks.
  udp_sender* via = nullptr;
};

}  // namespace chat_server
