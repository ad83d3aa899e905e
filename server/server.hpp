// The whole server: owns the io_context and its thread pool, the listener, the chat relay, the
// optional lobby and metrics endpoint, signals and the stats timer, and runs the graceful shutdown.
#pragma once

#include "address_gate.hpp"
#include "cluster/cluster_node.hpp"
#include "config.hpp"
#include "counters.hpp"
#include "handshake_services.hpp"
#include "handshake_stats.hpp"
#include "hash_pool.hpp"
#include "lobby_host.hpp"
#include "metrics_listener.hpp"
#include "metrics_text.hpp"
#include "replay_gate.hpp"
#include "room_services.hpp"
#include "room_table.hpp"
#include "tcp_listener.hpp"
#include "udp_relay.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <optional>
#include <stdexcept>

namespace chat_server {

/// A reason the server cannot start (a port in use, a bad address), in words for the operator.
struct startup_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class server {
 public:
  /// Opens every socket; throws startup_error if one cannot be opened.
  /// `next_key`: during a key rotation, the public half of the key to switch to (announced to
  /// encrypted clients in the sealed completion).
  server(const server_config& config, libchat::server_key key, std::optional<libchat::public_key> next_key = {});
  ~server();

  /// Runs until SIGINT or SIGTERM has been handled; returns the process exit code.
  int run();

 private:
  void wait_for_signals();
  void wait_for_stats_signal();
  void arm_stats_timer();
  void log_stats();
  gauges current_gauges() const;
  /// Every counter and gauge, for a scrape of the metrics endpoint.
  metrics_snapshot sample_metrics() const;
  void begin_shutdown(int signal);
  /// Cluster mode, on the home node: a request another node forwarded, run like a local connection.
  void serve_forwarded(std::vector<std::uint8_t> request, const libchat::ip_address& client,
                       cluster::reply_function reply);
  /// Cluster mode, after a NATS outage: re-checks every room's directory entry (reclaim).
  void reclaim_rooms();
  void finish_shutdown();

  server_config config_;
  libchat::server_key key_;
  relay_memory memory_;  // outlives io_: destroying io_ returns pending handlers' memory here
  std::shared_ptr<spdlog::logger> log_;
  counters stats_;
  room_table rooms_;
  hash_pool hashes_;
  address_gate gate_;
  replay_gate replays_;
  std::atomic<std::size_t> members_{0};
  handshake_gauges handshakes_;
  handshake_stats handshake_outcomes_;
  handshake_settings handshake_settings_;
  std::atomic<bool> stopping_{false};
  std::optional<room_services> room_services_;
  std::optional<handshake_services> handshake_services_;
  // Cluster mode. Stopped (its workers joined) before the io_context goes: they post into it.
  std::unique_ptr<cluster::cluster_node> cluster_;
  // After everything a pending handler may touch (the gate, the gauges, the services, the table):
  // destroying the io_context destroys its pending handlers, such as a handshake connection still
  // lingering in its graceful close, whose destructor gives its place back to the gate.
  boost::asio::io_context io_;
  std::optional<udp_relay> relay_;
  std::optional<tcp_listener> listener_;
  std::optional<lobby_host> lobby_;
  std::optional<metrics_listener> metrics_;
  boost::asio::signal_set stop_signals_;
  boost::asio::signal_set stats_signal_;
  boost::asio::steady_timer stats_timer_;
  boost::asio::steady_timer shutdown_deadline_;
  std::atomic<bool> finished_{false};
};

}  // namespace chat_server
