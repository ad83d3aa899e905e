// A minimal client for integration tests, on plain sockets and libchat's codecs: TCRP
// exchanges (whole replies, as frames) and UDP members that send and receive datagrams.
#pragma once

#include "libchat/handshake.hpp"
#include "libchat/secure_handshake.hpp"
#include "libchat/tcrp.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chat_test {

using namespace std::chrono_literals;

struct frame {
  std::uint8_t operation = 0;
  std::uint8_t state = 0;
  std::string room;
  std::string payload;
};

/// Sends raw bytes on a new TCP connection (from `source_ip`), reads until the server closes,
/// and splits what came back into frames. `half_close` shuts down our sending side after writing.
std::vector<frame> tcrp_exchange(std::uint16_t port, const std::vector<std::uint8_t>& bytes,
                                 const std::string& source_ip = "127.0.0.1",
                                 std::chrono::milliseconds timeout = 5s);

/// Encodes a create (operation 1) or join (2) request.
std::vector<std::uint8_t> request_bytes(libchat::operation op, const std::string& room, const std::string& username,
                                        const std::optional<std::string>& password = std::nullopt);

/// The outcome of a create or join: the token on success, else the error (from state 1 or 2).
struct handshake_result {
  std::vector<frame> frames;
  std::optional<libchat::completion_response> completion;
  std::optional<libchat::error_response> error;
};
handshake_result handshake(std::uint16_t port, libchat::operation op, const std::string& room,
                           const std::string& username, const std::optional<std::string>& password = std::nullopt,
                           const std::string& source_ip = "127.0.0.1");

/// A UDP socket bound to `ip` on an ephemeral port, talking to the server's chat port.
class udp_peer {
 public:
  udp_peer(std::uint16_t server_port, const std::string& ip = "127.0.0.1");
  ~udp_peer();
  udp_peer(const udp_peer&) = delete;
  udp_peer& operator=(const udp_peer&) = delete;

  void send_raw(const std::vector<std::uint8_t>& datagram);
  void send(const std::string& room, const std::string& token, const std::string& message);
  /// The next datagram, or nullopt if none arrives within `timeout`.
  std::optional<std::vector<std::uint8_t>> receive(std::chrono::milliseconds timeout = 2s);
  /// The next datagram split as server→client: {sender, text}.
  std::optional<std::pair<std::string, std::string>> receive_message(std::chrono::milliseconds timeout = 2s);
  /// True if nothing arrives within `quiet`.
  bool silent(std::chrono::milliseconds quiet = 300ms);
  std::uint16_t local_port() const;
  void close();

 private:
  int fd_ = -1;
  std::uint16_t server_port_;
};

/// The members notice a member gets right after its first pong (every part of it).
struct members_list {
  std::vector<std::string> users;  ///< in the order of the parts
  std::string host;
  std::size_t parts = 0;
  std::vector<std::size_t> part_sizes;  ///< each part's datagram, in bytes (plaintext)
};
using message_source = std::function<std::optional<std::pair<std::string, std::string>>()>;
/// Reads the parts of a members notice from `next` until the last; throws when something else
/// comes first, a part is missing or out of order, or a part does not parse.
members_list receive_members(const message_source& next);

/// A room member: its handshake result and its UDP socket, already joined (keepalive → pong,
/// then the members notice, read into `members`).
struct member {
  std::string room;
  std::string token;
  std::unique_ptr<udp_peer> udp;
  members_list members;
  void say(const std::string& text) { udp->send(room, token, text); }
};
member join_member(std::uint16_t tcp_port, std::uint16_t udp_port, libchat::operation op, const std::string& room,
                   const std::string& username, const std::optional<std::string>& password = std::nullopt,
                   const std::string& ip = "127.0.0.1");

/// The wall-clock time now, as a sealed request carries it.
inline libchat::wall_time wall_now() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

/// Asks for the server's public key (operation 3).
libchat::public_key fetch_server_key(std::uint16_t port);

/// An encrypted member: every datagram sealed both ways through its channel.
struct secure_member {
  std::string room;
  std::unique_ptr<libchat::secure_channel> channel;
  std::unique_ptr<udp_peer> udp;
  bool host = false;
  members_list members;  ///< read after the pong

  void say(const std::string& text);
  /// The next datagram opened and split as {sender, text}; nullopt on timeout. Throws if a
  /// datagram does not open.
  std::optional<std::pair<std::string, std::string>> receive_message(std::chrono::milliseconds timeout = 2s);
};

/// The encrypted handshake's outcome: a member (already joined: keepalive, pong), or the error.
struct secure_result {
  std::optional<secure_member> member;
  std::optional<libchat::error_response> error;
  std::string token;          ///< the token the completion carried (sealed on the wire)
  std::vector<frame> frames;  ///< what went over TCP, for checking that nothing is in clear
  std::vector<std::uint8_t> request;  ///< the request frame as sent (what an eavesdropper records)
};
secure_result join_secure(std::uint16_t tcp_port, std::uint16_t udp_port, libchat::operation op,
                          const std::string& room, const std::string& username,
                          const std::optional<std::string>& password = std::nullopt,
                          const std::optional<libchat::public_key>& server_key = std::nullopt);

}  // namespace chat_test
