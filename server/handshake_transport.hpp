// Where a handshake's bytes come from and go to. A TCP connection is one (tcp_transport); in
// cluster mode a request forwarded from another node is another (cluster/forwarded_transport):
// the same exchange, driven by the same handshake_connection, over a different carrier.
#pragma once

#include "libchat/address.hpp"
#include "libchat/bytes.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/error_code.hpp>

#include <functional>
#include <string>

namespace chat_server {

class handshake_transport {
 public:
  using read_handler = std::function<void(const boost::system::error_code&, std::size_t)>;
  using write_handler = std::function<void(const boost::system::error_code&)>;

  virtual ~handshake_transport() = default;
  /// The executor every handler runs on (the connection's own).
  virtual boost::asio::any_io_executor executor() = 0;
  /// Reads some bytes of the request into `into`.
  virtual void read_some(libchat::mutable_byte_view into, read_handler done) = 0;
  /// Writes one reply frame; `last`: no more follow.
  virtual void write(libchat::byte_view bytes, bool last, write_handler done) = 0;
  /// Ends at once: pending operations complete with an error.
  virtual void abort() = 0;
  /// Ends gracefully after the last write (for TCP: shut down our side, drain, close), then calls
  /// `closed` (the connection lives until then, holding its place in the handshake limits).
  virtual void finish(std::function<void()> closed) = 0;
  /// The client's address and port, for logs ("192.0.2.1:50000").
  virtual std::string peer() const = 0;
  /// A request another node forwarded here (never forwarded on).
  virtual bool forwarded() const { return false; }
};

}  // namespace chat_server
