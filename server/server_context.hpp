// What every part of the server shares, passed explicitly (no globals): settings, counters, the
// logger, the room table, the send path and the password workers.
#pragma once

#include "config.hpp"
#include "counters.hpp"

#include <boost/asio/io_context.hpp>
#include <spdlog/logger.h>

#include "libchat/secure_handshake.hpp"

#include <atomic>
#include <cstdint>

namespace chat_server {

class room_table;
class udp_sender;
class hash_pool;
class address_gate;

struct server_context {
  boost::asio::io_context& io;
  const server_config& config;
  counters& stats;
  spdlog::logger& log;
  room_table& rooms;
  hash_pool& hashes;
  address_gate& limits;
  const libchat::server_key& key;  ///< the server's static key, for encrypted handshakes
  udp_sender* sender = nullptr;  ///< set once the chat socket is open
  std::uint16_t udp_port = 0;    ///< the chat socket's port, told to clients in the completion
  std::atomic<std::size_t> handshakes{0};       ///< connections being served
  std::atomic<std::size_t> busy_handshakes{0};  ///< connections only being told server_busy
  std::atomic<std::size_t> members{0};
  std::atomic<bool> stopping{false};
};

}  // namespace chat_server
