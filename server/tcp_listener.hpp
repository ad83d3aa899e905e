// Accepts handshake connections, each on its own strand. Caps the handshakes in progress: past
// the cap a connection is only told server_busy (a bounded number of those too), and past that it
// is closed at once. Survives EMFILE/ENFILE by pausing instead of spinning.
#pragma once

#include "server_context.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

namespace chat_server {

class tcp_listener {
 public:
  tcp_listener(server_context& ctx, const boost::asio::ip::tcp::endpoint& bind);

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void start();
  void stop();

 private:
  void accept();
  void on_accept(const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket);

  server_context& ctx_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;
};

}  // namespace chat_server
