// The home node's end of a handshake forwarded by another node: the request's bytes, as the front
// node read them from the client, are read from memory; each reply frame goes back over NATS to
// the front node, which writes it to the client's TCP connection.
#pragma once

#include "cluster/cluster_node.hpp"
#include "handshake_transport.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <memory>
#include <vector>

namespace chat_server::cluster {

class forwarded_transport final : public handshake_transport, public std::enable_shared_from_this<forwarded_transport> {
 public:
  forwarded_transport(boost::asio::io_context& io, std::vector<std::uint8_t> request, const libchat::ip_address& client,
                      reply_function reply);
  ~forwarded_transport() override;

  boost::asio::any_io_executor executor() override { return strand_; }
  void read_some(libchat::mutable_byte_view into, read_handler done) override;
  void write(libchat::byte_view bytes, bool last, write_handler done) override;
  void abort() override;
  void finish(std::function<void()> closed) override;
  std::string peer() const override { return peer_; }
  bool forwarded() const override { return true; }

 private:
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  std::vector<std::uint8_t> request_;
  std::size_t read_ = 0;
  std::string peer_;
  reply_function reply_;
  bool ended_ = false;  // the front node was told the last frame
};

}  // namespace chat_server::cluster
