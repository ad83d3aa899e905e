// A room_output that records what a room or the lobby asked for: (destination, bytes) pairs and
// events, with owned copies (the views passed to room_output are valid only during the call).
#pragma once

#include "libchat/address.hpp"
#include "libchat/room_output.hpp"
#include "support/hex.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace chat_test {

/// 10.0.0.<host>:<port>, IPv4-mapped like every address the server hands to a room.
inline libchat::peer_address v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint16_t port) {
  return {libchat::ip_address::from_v4({a, b, c, d}), port};
}

struct sent_datagram {
  libchat::peer_address to;
  byte_vector bytes;
};

struct recorded_event {
  libchat::room_event::kind what;
  std::string room;
  std::string username;
  libchat::peer_address endpoint;
  std::string reason;
  bool joined = false;
  libchat::peer_address previous;  // roamed: where the member was
};


class recording_output final : public libchat::room_output {
 public:
  void send(const libchat::peer_address& to, libchat::byte_view datagram) override {
    sent.push_back({to, byte_vector(datagram.begin(), datagram.end())});
  }
  void on_event(const libchat::room_event& e) override {
    events.push_back({e.what, std::string(e.room), std::string(e.username), e.endpoint, std::string(e.reason), e.joined,
                      e.previous});
  }

  /// The datagrams sent to `to`, in order.
  std::vector<byte_vector> sent_to(const libchat::peer_address& to) const {
    std::vector<byte_vector> out;
    for (const auto& s : sent)
      if (s.to == to) out.push_back(s.bytes);
    return out;
  }
  /// "joined alice", "closed host_left": one short line per event, for whole-transcript checks.
  std::vector<std::string> event_lines() const {
    std::vector<std::string> out;
    for (const auto& e : events) {
      std::string line(libchat::room_event_kind_name(e.what));
      if (!e.username.empty()) line += " " + e.username;
      if (!e.reason.empty()) line += " (" + e.reason + ")";
      out.push_back(line);
    }
    return out;
  }
  void clear() {
    sent.clear();
    events.clear();
  }

  std::vector<sent_datagram> sent;
  std::vector<recorded_event> events;
};

}  // namespace chat_test
