// chat-server's settings: every flag, its default, and the parsing of flags and --config files.
#pragma once

#include "cluster/cluster_settings.hpp"
#include "libchat/address_limits.hpp"
#include "libchat/lobby.hpp"
#include "libchat/password.hpp"
#include "libchat/replay_cache.hpp"
#include "libchat/room.hpp"
#include "libchat/secure_channel.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chat_server {

/// A HOST:PORT the operator gave; the host is checked as an IP address when the server binds it.
struct listen_address {
  std::string host;
  std::uint16_t port = 0;
};

/// Splits "127.0.0.1:9188" or "[::1]:9188" (brackets for IPv6); false if it is not HOST:PORT with
/// a port from 0 to 65535.
bool parse_listen_address(std::string_view text, listen_address& out);

struct server_config {
  std::string bind_address = "127.0.0.1";
  std::uint16_t tcp_port = 9000;
  std::uint16_t udp_port = 9000;
  std::optional<std::uint16_t> lobby_port;  ///< off unless set; 0 picks a free port
  std::optional<listen_address> metrics_listen;  ///< the Prometheus endpoint; off unless set
  unsigned threads = 1;
  unsigned receive_sockets = 1;  ///< UDP sockets sharing the chat port (SO_REUSEPORT)

  std::size_t max_payload = 8192;
  std::chrono::milliseconds handshake_timeout{5000};
  std::size_t max_handshakes = 256;
  std::size_t max_rooms = 10'000;
  libchat::room_limits room;
  libchat::address_limit_config per_address;
  libchat::replay_cache_config replays;
  libchat::lobby_limits lobby;

  libchat::password_params password;
  unsigned hash_workers = 1;
  std::size_t hash_queue = 32;

  std::string key_file;        ///< the server's static key; created on first start
  /// During a key rotation: the key to switch to, announced to clients in sealed completions
  /// (created on first start too); empty when no rotation is under way.
  std::string next_key_file;
  /// Counters per datagram key before the key update (libchat::valid_key_datagrams).
  std::uint64_t key_datagrams = libchat::default_key_datagrams;
  bool allow_plaintext = false;  ///< accept unencrypted handshakes (trusted networks, older clients)

  std::size_t socket_buffer = 4u << 20;  ///< SO_RCVBUF/SO_SNDBUF request; the kernel may cap it
  std::chrono::seconds stats_interval{60};
  std::string log_level = "info";
  /// Cluster mode: set with --cluster (docs/cluster.md).
  std::optional<cluster::settings> cluster;
};

/// What parse_command_line decided: run with a config, or exit at once with a code (after --help,
/// --version or a usage error, whose message has already been printed).
struct parse_outcome {
  std::optional<server_config> config;
  int exit_code = 0;
};

parse_outcome parse_command_line(int argc, const char* const argv[]);

}  // namespace chat_server
