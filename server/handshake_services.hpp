// What a handshake connection (and the listener that makes them) needs from the rest of the
// server: the exchange's settings and the server's key, the per-address gate, the room table,
// the password workers, what a created room needs, the handshake gauges and outcomes, and the log.
#pragma once

#include "libchat/password.hpp"
#include "libchat/secure_handshake.hpp"
#include "libchat/server_exchange.hpp"

#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <cstddef>

namespace chat_server {

namespace cluster {
class cluster_node;
}
class address_gate;
class replay_gate;
class handshake_stats;
class hash_pool;
class room_table;
struct room_services;

struct handshake_settings {
  libchat::server_exchange_config exchange;
  std::chrono::milliseconds timeout{5000};  ///< for the whole request, from accept
  std::size_t max_handshakes = 256;         ///< in progress at once; past it, server_busy
  std::size_t max_rooms = 10'000;
  libchat::password_params password;
};

/// Connections being served, and connections only being told server_busy or rate_limited.
struct handshake_gauges {
  std::atomic<std::size_t> serving{0};
  std::atomic<std::size_t> refusing{0};
};

struct handshake_services {
  const handshake_settings& settings;
  const libchat::server_key& key;
  address_gate& gate;
  replay_gate& replays;
  room_table& rooms;
  hash_pool& hashes;
  room_services& new_rooms;
  handshake_gauges& gauges;
  handshake_stats& outcomes;
  spdlog::logger& log;
  /// Cluster mode: the room directory and forwarding; null on a single server.
  cluster::cluster_node* cluster = nullptr;
};

/// How a handshake from `ip` may be let in (the listener's and a forwarded request's rule): open,
/// or only to be told server_busy (too many in progress) or rate_limited (the address's own
/// limit). Open ones must end with gate.end_handshake, which the connection does.
libchat::door door_for(handshake_services& services, const libchat::ip_address& ip);

}  // namespace chat_server
