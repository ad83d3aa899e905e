// A handshake over the client's own TCP connection.
#pragma once

#include "handshake_transport.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <memory>

namespace chat_server {

class tcp_transport final : public handshake_transport, public std::enable_shared_from_this<tcp_transport> {
 public:
  tcp_transport(boost::asio::ip::tcp::socket socket, const libchat::ip_address& ip);

  boost::asio::any_io_executor executor() override { return socket_.get_executor(); }
  void read_some(libchat::mutable_byte_view into, read_handler done) override;
  void write(libchat::byte_view bytes, bool last, write_handler done) override;
  void abort() override;
  void finish(std::function<void()> closed) override;
  std::string peer() const override { return peer_; }

 private:
  /// Reads and discards until the client closes, then calls `closed`. The callback travels with
  /// the pending read rather than living in a member: it holds the connection, which holds this
  /// transport, and a member would make a cycle that an io_context destroyed mid-linger leaks.
  void drain(std::function<void()> closed);

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer linger_;
  std::string peer_;
  std::array<char, 4096> discard_{};
  std::size_t drained_ = 0;
};

}  // namespace chat_server
