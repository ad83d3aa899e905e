// The metrics endpoint (--metrics-listen): a small HTTP/1.1 server on Boost.Beast that answers
// GET /metrics with the text a render function returns, on the server's io_context. Everything a
// scraper can make it hold is bounded, so that a bad or slow HTTP client costs a few kilobytes and
// never a relay thread: connections at once (past the cap, closed at once), the request's size
// (headers only; a body is refused), one deadline for reading each request, one for writing its
// answer, and the requests per connection. It has no authentication: bind it to loopback or a
// private network.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace chat_server {

struct metrics_limits {
  std::size_t max_connections = 16;                ///< open at once; more are closed at once
  std::chrono::milliseconds read_deadline{5000};   ///< for a whole request, idle time before it included
  std::chrono::milliseconds write_deadline{5000};  ///< for writing one answer
  std::size_t max_request_bytes = 8192;            ///< request line and headers
  unsigned max_requests_per_connection = 100;      ///< then the answer says Connection: close
};

class metrics_listener {
 public:
  /// Called for each GET /metrics, on a connection's strand: the exposition text.
  using render_function = std::function<std::string()>;

  /// Binds and listens (throws boost::system::system_error on failure); accepts nothing until start().
  metrics_listener(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& bind, render_function render,
                   const metrics_limits& limits = {});
  ~metrics_listener();

  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void start();
  /// Stops accepting. Open connections are left to end or to be destroyed with the io_context.
  void stop();

  /// What the listener and its connections share; connections hold it, so they may outlive the listener.
  struct shared_state;

 private:
  void accept();
  void on_accept(const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  std::shared_ptr<shared_state> shared_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;
};

}  // namespace chat_server
