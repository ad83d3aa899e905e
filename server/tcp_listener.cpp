#include "tcp_listener.hpp"

#include "address_gate.hpp"
#include "handshake_connection.hpp"
#include "handshake_stats.hpp"
#include "net_address.hpp"
#include "tcp_transport.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <spdlog/spdlog.h>

namespace chat_server {
namespace asio = boost::asio;

namespace {
// Busy answers are cheap but not free: at most this many at once, beyond the handshake cap.
std::size_t busy_cap(std::size_t max_handshakes) { return max_handshakes / 4 + 16; }
constexpr std::chrono::milliseconds accept_backoff{50};
}  // namespace

tcp_listener::tcp_listener(asio::io_context& io, const asio::ip::tcp::endpoint& bind)
    : io_(io), acceptor_(asio::make_strand(io)), backoff_(acceptor_.get_executor()) {
  acceptor_.open(bind.protocol());
  if (bind.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(false));
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(bind);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

void tcp_listener::start(handshake_services& services, const std::atomic<bool>& stopping) {
  services_ = &services;
  stopping_ = &stopping;
  accept();
}

void tcp_listener::stop() {
  // The acceptor lives on its strand; closing it from another thread would race its handler.
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    backoff_.cancel();
  });
}

void tcp_listener::accept() {
  acceptor_.async_accept(asio::make_strand(io_),
                         [this](const boost::system::error_code& ec, asio::ip::tcp::socket socket) {
                           on_accept(ec, std::move(socket));
                         });
}

void tcp_listener::on_accept(const boost::system::error_code& ec, asio::ip::tcp::socket socket) {
  if (!acceptor_.is_open() || ec == asio::error::operation_aborted) return;
  if (ec) {
    if (ec == asio::error::no_descriptors || ec.value() == ENFILE || ec == asio::error::no_buffer_space ||
        ec == asio::error::no_memory) {
      // Out of file descriptors: pause instead of spinning on the same error.
      services_->log.warn("accept failed: {}; pausing {} ms", ec.message(), accept_backoff.count());
      backoff_.expires_after(accept_backoff);
      backoff_.async_wait([this](const boost::system::error_code& e) {
        if (!e) accept();
      });
      return;
    }
    services_->log.debug("accept failed: {}", ec.message());  // e.g. the client reset before we took it
    return accept();
  }
  if (stopping_->load(std::memory_order_relaxed)) return;
  boost::system::error_code ec_remote;
  const auto remote = socket.remote_endpoint(ec_remote);
  if (ec_remote) return accept();  // already gone
  const libchat::ip_address ip = to_ip(remote.address());

  const libchat::door how = door_for(*services_, ip);
  if (how != libchat::door::open &&
      services_->gauges.refusing.load(std::memory_order_relaxed) >= busy_cap(services_->settings.max_handshakes)) {
    boost::system::error_code ignored;
    socket.close(ignored);  // far over the limits: not even a reply
    services_->outcomes.unanswered();
  } else {
    std::make_shared<handshake_connection>(*services_, std::make_shared<tcp_transport>(std::move(socket), ip), ip, how)
        ->start();
  }
  accept();
}

}  // namespace chat_server
