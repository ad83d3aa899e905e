// The lobby: one room without tokens, for trusted networks. A datagram is
// UsernameSize u8 | username | message; every address that sent one within the inactivity timeout
// receives the others' messages in the server→client framing (which is the same layout).
// Single-threaded by contract, like room.
#pragma once

#include "libchat/export.hpp"
#include "libchat/room_output.hpp"

#include <chrono>
#include <optional>
#include <unordered_map>
#include <vector>

namespace libchat {

struct lobby_limits {
  std::size_t max_members = 256;
  std::chrono::milliseconds inactivity_timeout{60'000};
};

class LIBCHAT_EXPORT lobby {
 public:
  explicit lobby(const lobby_limits& limits) : limits_(limits) {}

  /// Checks and relays one lobby datagram. Drops: oversize, malformed, control_character (bad
  /// username), invalid_utf8, too_long (does not fit 4094 bytes), lobby_full (a new address when
  /// the lobby is full), bad_control (a message starting with 0x00, reserved).
  datagram_outcome on_datagram(byte_view datagram, const peer_address& from, time_point now, room_output& out);

  void expire(time_point now);
  std::optional<time_point> next_deadline() const noexcept;
  std::size_t member_count() const noexcept { return members_.size(); }
  /// Sends server_shutdown to every address and forgets them.
  void shutdown(room_output& out);

 private:
  struct member {
    peer_address endpoint;
    time_point last_seen;
  };
  lobby_limits limits_;
  std::vector<member> members_;
  std::unordered_map<peer_address, std::uint32_t, peer_address_hash> by_endpoint_;
};

}  // namespace libchat
