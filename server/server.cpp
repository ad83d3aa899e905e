#include "server.hpp"

#include "cluster/forwarded_transport.hpp"
#include "handshake_connection.hpp"
#include "room_host.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include <csignal>
#include <thread>

namespace chat_server {
namespace asio = boost::asio;

namespace {

std::shared_ptr<spdlog::logger> make_logger(const std::string& level) {
  auto log = std::make_shared<spdlog::logger>("chat-server", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  log->set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] %v");
  log->set_level(spdlog::level::from_str(level));
  log->flush_on(spdlog::level::trace);  // one line at a time, so that tests and pipes see it at once
  return log;
}

// After SIGTERM, how long members' shutdown notices may take before the process stops anyway.
constexpr std::chrono::seconds shutdown_grace{2};

// "127.0.0.1:9188", "[::1]:9188": as --metrics-listen takes it.
std::string endpoint_text(const asio::ip::tcp::endpoint& e) {
  const std::string address = e.address().to_string();
  return (e.address().is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(e.port());
}

}  // namespace

server::server(const server_config& config, libchat::server_key key, std::optional<libchat::public_key> next_key)
    : config_(config),
      key_(std::move(key)),
      log_(make_logger(config_.log_level)),
      hashes_(config_.hash_workers, {.capacity = config_.hash_queue, .per_client = 1}),
      gate_(config_.per_address),
      replays_(config_.replays),
      stop_signals_(io_, SIGINT, SIGTERM),
      stats_signal_(io_, SIGUSR1),
      stats_timer_(io_),
      shutdown_deadline_(io_) {
  boost::system::error_code bad_address;
  const auto address = asio::ip::make_address(config_.bind_address, bad_address);
  if (bad_address) throw startup_error("--bind " + config_.bind_address + " is not an IP address");
  // TCP first: its bind fails if another server holds the port, before the UDP sockets (which
  // share their port through SO_REUSEPORT) could join that server's.
  const auto where = [&](std::uint16_t port) { return config_.bind_address + ":" + std::to_string(port); };
  try {
    listener_.emplace(io_, asio::ip::tcp::endpoint(address, config_.tcp_port));
  } catch (const boost::system::system_error& e) {
    throw startup_error("cannot listen on TCP " + where(config_.tcp_port) + ": " + e.code().message());
  }
  try {
    relay_.emplace(io_, stats_, rooms_, memory_, asio::ip::udp::endpoint(address, config_.udp_port),
                   config_.receive_sockets, config_.socket_buffer);
  } catch (const boost::system::system_error& e) {
    throw startup_error("cannot open UDP " + where(config_.udp_port) + ": " + e.code().message());
  }
  if (config_.cluster) {
    try {
      cluster_ = std::make_unique<cluster::cluster_node>(*config_.cluster, *log_);
    } catch (const std::runtime_error& e) {
      throw startup_error(e.what());
    }
  }
  room_services_.emplace(
      room_services{io_, config_.room, relay_->sender(), stats_, members_, *log_, rooms_, gate_, cluster_.get()});
  auto& exchange = handshake_settings_.exchange;
  exchange.max_payload = config_.max_payload;
  exchange.allow_plaintext = config_.allow_plaintext;
  exchange.udp_port = relay_->port();
  if (config_.cluster) {
    exchange.udp_host = config_.cluster->advertise;
    exchange.route_joins = true;  // forwarded joins are opened by their home node only
  }
  exchange.next_key = next_key;
  exchange.key_datagrams = config_.key_datagrams;
  exchange.rooms_per_address = config_.per_address.rooms;
  exchange.tokens_per_address = config_.per_address.tokens;
  exchange.max_members = config_.room.max_members;
  exchange.request_skew = config_.replays.skew;
  handshake_settings_.timeout = config_.handshake_timeout;
  handshake_settings_.max_handshakes = config_.max_handshakes;
  handshake_settings_.max_rooms = config_.max_rooms;
  handshake_settings_.password = config_.password;
  handshake_services_.emplace(handshake_services{handshake_settings_, key_, gate_, replays_, rooms_, hashes_,
                                                 *room_services_, handshakes_, handshake_outcomes_, *log_,
                                                 cluster_.get()});
  if (config_.lobby_port) {
    try {
      lobby_.emplace(io_, stats_, config_.lobby, asio::ip::udp::endpoint(address, *config_.lobby_port));
    } catch (const boost::system::system_error& e) {
      throw startup_error("cannot open the lobby on UDP " + where(*config_.lobby_port) + ": " + e.code().message());
    }
  }
  if (config_.metrics_listen) {
    const auto& listen = *config_.metrics_listen;
    const std::string text = "--metrics-listen " + listen.host + ":" + std::to_string(listen.port);
    const auto metrics_address = asio::ip::make_address(listen.host, bad_address);
    if (bad_address) throw startup_error(text + ": " + listen.host + " is not an IP address");
    try {
      metrics_.emplace(io_, asio::ip::tcp::endpoint(metrics_address, listen.port),
                       [this] { return render_metrics(sample_metrics()); });
    } catch (const boost::system::system_error& e) {
      throw startup_error("cannot listen for metrics (" + text + "): " + e.code().message());
    }
  }
}

server::~server() = default;

int server::run() {
  const auto address = config_.bind_address;
  const std::string lobby = lobby_ ? address + ":" + std::to_string(lobby_->port()) : "off";
  const std::string metrics = metrics_ ? endpoint_text(metrics_->local_endpoint()) : "off";
  log_->info("chat-server {} listening tcp={}:{} udp={}:{} lobby={} metrics={} threads={}", LIBCHAT_VERSION, address,
             listener_->port(), address, relay_->port(), lobby, metrics, config_.threads);
  // Before the key line, which ends the start-up lines (tests and scripts wait for it).
  if (metrics_) {
    log_->info("serving metrics at http://{}/metrics (no authentication: keep it on loopback or a private network)",
               metrics);
  }
  if (handshake_settings_.exchange.next_key) {
    log_->info("next server key {} ({}): announced to encrypted clients for the rotation",
               libchat::key_fingerprint(*handshake_settings_.exchange.next_key), config_.next_key_file);
  }
  log_->info("server key {} ({}); {}", key_.fingerprint(), config_.key_file,
             config_.allow_plaintext ? "accepting encrypted and, as --allow-plaintext says, unencrypted handshakes"
                                     : "accepting encrypted handshakes only");
  if (lobby_) {
    log_->warn(
        "the lobby on port {} has no tokens: anyone who can forge a source address can point its traffic "
        "at a victim; use it only on a trusted network",
        lobby_->port());
  }

  if (cluster_) {
    log_->info("cluster mode: node '{}' on NATS {}, datagrams at {}:{}, node timeout {} ms", config_.cluster->node,
               cluster::redacted_url(config_.cluster->urls.front()), config_.cluster->advertise, relay_->port(),
               config_.cluster->node_timeout.count());
    try {
      cluster_->start(
          [this](std::vector<std::uint8_t> request, const libchat::ip_address& client, cluster::reply_function reply) {
            serve_forwarded(std::move(request), client, std::move(reply));
          },
          [this] { reclaim_rooms(); });
    } catch (const std::runtime_error& e) {
      log_->critical("{}", e.what());
      return 1;
    }
  }
  relay_->start();
  listener_->start(*handshake_services_, stopping_);
  if (lobby_) lobby_->start();
  if (metrics_) metrics_->start();
  wait_for_signals();
  arm_stats_timer();

  std::vector<std::thread> pool;
  for (unsigned i = 1; i < config_.threads; ++i) pool.emplace_back([this] { io_.run(); });
  io_.run();
  for (auto& t : pool) t.join();
  // Shutting down: a second SIGTERM now (impatient supervisors send one) must not kill the
  // process with that signal after the handlers are gone; the exit status stays 0.
  std::signal(SIGINT, SIG_IGN);
  std::signal(SIGTERM, SIG_IGN);

  // Nothing runs any more: stop the password workers (their queued jobs hold handshake connections),
  // then drop the rooms and sockets while the io_context still exists.
  hashes_.stop();
  for (const auto& host : rooms_.snapshot()) {
    rooms_.erase(host->name(), host.get());
    if (cluster_) cluster_->release(host->name(), host->directory_revision());  // the names are free cluster-wide
  }
  if (cluster_) cluster_->stop();
  lobby_.reset();
  listener_.reset();
  metrics_.reset();
  log_->info("stopped; {}", stats_.stats_line(current_gauges()));
  return 0;
}

void server::wait_for_signals() {
  stop_signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (!ec) begin_shutdown(signal);
  });
  wait_for_stats_signal();
}

void server::wait_for_stats_signal() {
  stats_signal_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    log_stats();
    wait_for_stats_signal();
  });
}

void server::arm_stats_timer() {
  if (config_.stats_interval.count() == 0) return;
  stats_timer_.expires_after(config_.stats_interval);
  stats_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    log_stats();
    arm_stats_timer();
  });
}

gauges server::current_gauges() const {
  gauges g;
  g.rooms = rooms_.size();
  g.members = members_.load(std::memory_order_relaxed);
  g.handshakes = handshakes_.serving.load(std::memory_order_relaxed);
  g.hash_queue = hashes_.queued();
  g.hash_evicted = hashes_.evicted();
  g.hash_cancelled = hashes_.cancelled();
  g.lobby_members = lobby_ ? lobby_->member_count() : 0;
  g.handler_heap_fallbacks = relay_ ? relay_->handler_heap_fallbacks() : 0;
  return g;
}

metrics_snapshot server::sample_metrics() const {
  metrics_snapshot s;
  s.version = LIBCHAT_VERSION;
  // The outcomes before received: a datagram is counted received before its outcome is, so read
  // in this order received leads the sum of the outcomes by the datagrams in flight rather than
  // trailing it; once they settle the two are equal (the relaxed loads promise no more).
  s.relayed = stats_.get(counter::relayed);
  s.keepalive = stats_.get(counter::keepalive);
  s.control = stats_.get(counter::control);
  // Every reason the counters know, zeros included, so that a reason never appears from nowhere
  // and the sum over the family is the whole of the drops.
  for (std::size_t i = 1; i < libchat::errc_count; ++i) {
    const auto reason = static_cast<libchat::errc>(i);
    s.dropped.push_back({libchat::errc_name(reason), stats_.dropped_for(reason)});
  }
  s.received = stats_.get(counter::received);
  s.sent = stats_.get(counter::sent);
  s.send_would_block = stats_.get(counter::send_would_block);
  s.send_errors = stats_.get(counter::send_error);
  s.icmp_errors = stats_.get(counter::icmp_errors);
  s.kernel_drops = stats_.get(counter::kernel_drops);
  s.lobby_received = stats_.get(counter::lobby_received);
  s.lobby_relayed = stats_.get(counter::lobby_relayed);
  s.lobby_keepalive = stats_.get(counter::lobby_keepalive);
  s.lobby_dropped = stats_.get(counter::lobby_dropped);
  handshake_outcomes_.sample(s);

  const gauges g = current_gauges();
  s.handler_heap_fallbacks = g.handler_heap_fallbacks;
  s.hash_evicted = g.hash_evicted;
  s.hash_cancelled = g.hash_cancelled;
  s.rooms = g.rooms;
  s.members = g.members;
  s.handshakes_in_progress = g.handshakes;
  s.handshakes_refusing = handshakes_.refusing.load(std::memory_order_relaxed);
  s.hash_queue = g.hash_queue;
  s.lobby_members = g.lobby_members;
  s.rooms_limit = config_.max_rooms;
  s.handshakes_limit = config_.max_handshakes;
  s.hash_queue_limit = config_.hash_queue;
  return s;
}

void server::serve_forwarded(std::vector<std::uint8_t> request, const libchat::ip_address& client,
                             cluster::reply_function reply) {
  // From a NATS thread: onto the io_context, where the handshake limits are read and the
  // connection lives like one accepted on TCP.
  asio::post(io_, [this, request = std::move(request), client, reply = std::move(reply)]() mutable {
    if (stopping_.load(std::memory_order_relaxed)) return reply({}, true);
    const libchat::door how = door_for(*handshake_services_, client);
    auto transport = std::make_shared<cluster::forwarded_transport>(io_, std::move(request), client, std::move(reply));
    std::make_shared<handshake_connection>(*handshake_services_, std::move(transport), client, how)->start();
  });
}

void server::reclaim_rooms() {
  // After a NATS outage the other nodes may have taken this one for dead and freed its names; a
  // room whose name another node now holds is given up here (its members are told the server
  // stopped), so that no name is ever held by two rooms.
  for (const auto& host : rooms_.snapshot()) {
    cluster_->reclaim(host->name(), [this, host](bool keep, std::uint64_t revision) {
      asio::post(host->strand(), [this, host, keep, revision] {
        if (keep) {
          if (revision) host->set_directory_revision(revision);
          return;
        }
        log_->warn("cluster: room '{}' is held by another node since this one lost NATS: closing it here",
                   host->name());
        host->shutdown();
      });
    });
  }
}

void server::log_stats() {
  log_->info("stats: {}", stats_.stats_line(current_gauges()));
}

void server::begin_shutdown(int signal) {
  if (stopping_.exchange(true)) return;
  const auto rooms = rooms_.snapshot();
  log_->info("{} received: telling the members of {} room(s) that the server is stopping",
             signal == SIGINT ? "SIGINT" : "SIGTERM", rooms.size());
  listener_->stop();
  if (metrics_) metrics_->stop();
  stats_timer_.cancel();
  stats_signal_.cancel();

  // Every room's strand sends its notices; the last one to finish stops the io_context.
  auto remaining = std::make_shared<std::atomic<std::size_t>>(rooms.size() + (lobby_ ? 1 : 0) + 1);
  auto one_done = [this, remaining] {
    if (remaining->fetch_sub(1) == 1) finish_shutdown();
  };
  for (const auto& host : rooms) {
    asio::post(host->strand(), [host, one_done] {
      host->shutdown();
      one_done();
    });
  }
  if (lobby_) lobby_->shutdown(one_done);
  one_done();

  shutdown_deadline_.expires_after(shutdown_grace);
  shutdown_deadline_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    log_->warn("shutdown notices did not finish within {} s; stopping anyway", shutdown_grace.count());
    finish_shutdown();
  });
}

void server::finish_shutdown() {
  if (finished_.exchange(true)) return;
  io_.stop();
}

}  // namespace chat_server
