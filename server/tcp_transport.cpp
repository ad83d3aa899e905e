#include "tcp_transport.hpp"

#include <boost/asio/write.hpp>

namespace chat_server {
namespace asio = boost::asio;

namespace {
// After the last reply, how long the client may take to close its side before we drop the socket.
constexpr std::chrono::milliseconds linger_time{1000};
constexpr std::size_t max_drained_bytes = 64u << 10;
}  // namespace

tcp_transport::tcp_transport(asio::ip::tcp::socket socket, const libchat::ip_address& ip)
    : socket_(std::move(socket)), linger_(socket_.get_executor()) {
  boost::system::error_code ec;
  const auto remote = socket_.remote_endpoint(ec);
  peer_ = libchat::peer_address{ip, ec ? std::uint16_t{0} : remote.port()}.to_string();
}

void tcp_transport::read_some(libchat::mutable_byte_view into, read_handler done) {
  socket_.async_read_some(asio::buffer(into.data(), into.size()),
                          [self = shared_from_this(), done = std::move(done)](const boost::system::error_code& ec,
                                                                              std::size_t n) { done(ec, n); });
}

void tcp_transport::write(libchat::byte_view bytes, bool, write_handler done) {
  asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()),
                    [self = shared_from_this(), done = std::move(done)](const boost::system::error_code& ec,
                                                                        std::size_t) { done(ec); });
}

void tcp_transport::abort() {
  boost::system::error_code ignored;
  linger_.cancel();
  socket_.close(ignored);
}

void tcp_transport::finish(std::function<void()> closed) {
  // Shut down our side, then read until the client closes (bounded), so that a request body we
  // never read does not turn our close into a reset that destroys the reply in flight.
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  linger_.expires_after(linger_time);
  linger_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) {
      boost::system::error_code ignored_too;
      self->socket_.close(ignored_too);
    }
  });
  drain(std::move(closed));
}

void tcp_transport::drain(std::function<void()> closed) {
  socket_.async_read_some(asio::buffer(discard_), [self = shared_from_this(), closed = std::move(closed)](
                                                      const boost::system::error_code& ec, std::size_t n) mutable {
    self->drained_ += n;
    if (!ec && self->drained_ < max_drained_bytes) return self->drain(std::move(closed));
    self->linger_.cancel();
    boost::system::error_code ignored;
    self->socket_.close(ignored);
    closed();
  });
}

}  // namespace chat_server
