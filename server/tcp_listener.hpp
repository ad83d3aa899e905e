// Accepts handshake connections, each on its own strand. Caps the handshakes in progress: past
// the cap a connection is only told server_busy (a bounded number of those too), and past that it
// is closed at once. Survives EMFILE/ENFILE by pausing instead of spinning.
#pragma once

#include "handshake_services.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

namespace chat_server {

class tcp_listener {
 public:
  /// Binds and listens (throws on failure); accepts nothing until start().
  tcp_listener(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& bind);

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  /// Accepts until stop(); `stopping` set means the server is shutting down (new ones are closed).
  void start(handshake_services& services, const std::atomic<bool>& stopping);
  void stop();

 private:
  void accept();
  void on_accept(const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  handshake_services* services_ = nullptr;  // set by start()
  const std::atomic<bool>* stopping_ = nullptr;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;
};

}  // namespace chat_server
