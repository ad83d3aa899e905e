// Members that chat over UDP, for chat-server (after a real TCRP handshake each) and for
// limit-relay (with dummy tokens): one connected UDP socket per member, set up and bound here,
// then driven by udp_workers.
//
// Encrypted sessions (chat-server-enc): the handshake is libchat's client_handshake (the request
// sealed to the server's key, the replies opened), each member keeps the secure_channel its
// completion gives, and every datagram is sealed on the way out and opened on the way in (the
// send timestamp travels inside the sealed message). A worker's per-datagram work allocates
// nothing: the channel is the member's, the buffers are the worker's.
//
// Binding: a member is ready once the target answered its keepalive with a pong, which proves that
// the target registered its address (chat-server: the first accepted datagram makes it a member).
#pragma once

#include "load_worker.hpp"
#include "net.hpp"
#include "shape.hpp"

#include "libchat/secure_channel.hpp"
#include "libchat/secure_handshake.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace chat_bench {

struct udp_member {
  int fd = -1;           ///< UDP socket, connected to the target's UDP address
  std::uint32_t id = 0;  ///< room * members + position
  std::uint32_t room = 0;
  std::uint32_t position = 0;          ///< 0 is the room's host (creator)
  std::string token;                   ///< plaintext sessions and limit-relay
  std::vector<std::uint8_t> datagram;  ///< plaintext: RoomNameSize | TokenSize | room | token | text
  std::size_t text_at = 0;             ///< where the text starts; the prefix alone is a keepalive
  /// Encrypted sessions: the member's channel (its keys, counters and replay window) and its
  /// room's name, which every sealed datagram carries in clear. Null for plaintext.
  std::unique_ptr<libchat::secure_channel> channel;
  std::string room_name;
  bool bound = false;
};

struct population_options {
  std::string name_prefix;       ///< room names are name_prefix + "r" + index
  std::size_t text_bytes = 100;  ///< chat text per message (>= stamp_bytes)
  std::size_t handshake_concurrency = 64;
  bool encrypted = false;               ///< encrypted sessions (chat-server-enc)
  double handshake_rate = 0;            ///< encrypted handshakes started per second at most (0: no limit)
  std::int64_t timeout_ns = 0;          ///< for the whole set-up
  std::string source_ip;                ///< bind the handshake connections here (empty: the kernel's choice)
  std::vector<std::string> join_via;    ///< cluster mode: joins go through these nodes in turn (HOST:PORT)
  std::vector<std::string> create_via;  ///< cluster mode: room hosts create through these nodes in turn (HOST:PORT)
  std::string label;                    ///< for progress lines
  bool progress = true;
};

class udp_population {
 public:
  udp_population(const shape& layout, const population_options& options);
  ~udp_population();
  udp_population(const udp_population&) = delete;
  udp_population& operator=(const udp_population&) = delete;

  /// chat-server: a TCRP handshake per member through libchat (all creates, then the joins, at
  /// most handshake_concurrency at a time, retrying server_busy with backoff), each member bound
  /// as soon as its token arrives (the token lifetime runs from the handshake). Throws
  /// std::runtime_error on a refused handshake or when the set-up times out. With
  /// options.encrypted, `server_key` (from operation 3) is the key the requests are sealed to.
  void handshake_and_bind(const endpoint& tcp_server, const libchat::public_key* server_key = nullptr);
  /// limit-relay: dummy tokens (the username padded with '~' to 32 characters, the length of
  /// chat-server's tokens, so that datagrams have the same size), then binds every member.
  void bind_direct(const endpoint& udp_server);
  /// Every member sends the control message leave (hosts first); then the sockets are closed.
  void leave_all();

  std::vector<udp_member>& members() noexcept { return members_; }
  const shape& layout() const noexcept { return layout_; }
  /// Datagrams from the server that did not open during the set-up (encrypted sessions).
  std::uint64_t setup_open_failures() const noexcept { return setup_open_failures_; }

  std::string room_name(std::uint32_t room) const;
  static std::string user_name(std::uint32_t position);

 private:
  friend class setup_driver;
  void build_datagram(udp_member& m);

  shape layout_;
  population_options options_;
  std::vector<udp_member> members_;
  std::uint64_t setup_open_failures_ = 0;
};

/// Operation 3: asks the chat-server at `tcp_server` for its static public key (the answer's
/// fingerprint is checked against the key by libchat). Throws std::runtime_error.
libchat::public_key fetch_server_key(const endpoint& tcp_server, std::chrono::milliseconds timeout);

class udp_worker final : public load_worker {
 public:
  /// `text_bytes`: the chat text of every message (for encrypted members, sealed per send).
  udp_worker(std::size_t index, std::size_t count, std::int64_t keepalive_ns, std::vector<udp_member*> members,
             std::size_t text_bytes);
  ~udp_worker() override;

 protected:
  std::size_t members() const override { return members_.size(); }
  void wait_and_receive(std::int64_t timeout_ns) override;
  bool send_chat(std::size_t m, const stamp& s) override;
  bool send_keepalive(std::size_t m) override;

 private:
  void receive_from(std::size_t m);

  std::vector<udp_member*> members_;
  int epoll_fd_ = -1;
  struct buffers;
  std::unique_ptr<buffers> buffers_;
};

}  // namespace chat_bench
