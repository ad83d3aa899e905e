// What a room host needs from the rest of the server, and nothing more: the io_context for its
// strand and timer, the room limits, the send path, the counters and the members gauge, the log,
// the room table (to leave it when the room closes, and to route ICMP reports by member address),
// and the per-address gate its members' tokens and its room are given back to.
#pragma once

#include "libchat/room.hpp"

#include <boost/asio/io_context.hpp>
#include <spdlog/logger.h>

#include <atomic>
#include <cstddef>

namespace chat_server {

namespace cluster {
class cluster_node;
}
class address_gate;
class counters;
class room_table;
class udp_sender;

struct room_services {
  boost::asio::io_context& io;
  const libchat::room_limits& limits;
  udp_sender& sender;
  counters& stats;
  std::atomic<std::size_t>& members;  ///< the members gauge, across rooms
  spdlog::logger& log;
  room_table& rooms;
  address_gate& gate;
  /// Cluster mode: where a closing room frees its name; null on a single server.
  cluster::cluster_node* cluster = nullptr;
};

}  // namespace chat_server
