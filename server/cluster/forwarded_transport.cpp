#include "forwarded_transport.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstring>

namespace chat_server::cluster {
namespace asio = boost::asio;

forwarded_transport::forwarded_transport(asio::io_context& io, std::vector<std::uint8_t> request,
                                         const libchat::ip_address& client, reply_function reply)
    : strand_(asio::make_strand(io)),
      request_(std::move(request)),
      peer_(client.to_string() + " (forwarded)"),
      reply_(std::move(reply)) {}

forwarded_transport::~forwarded_transport() {
  // Ended without a last frame (failed or timed out): the front node closes the client's connection.
  if (!ended_) reply_({}, true);
}

void forwarded_transport::read_some(libchat::mutable_byte_view into, read_handler done) {
  // The front node forwards a complete request; asking for more means the client sent no more.
  const std::size_t n = std::min(into.size(), request_.size() - read_);
  if (n) std::memcpy(into.data(), request_.data() + read_, n);
  read_ += n;
  const boost::system::error_code ec = n ? boost::system::error_code{} : asio::error::eof;
  asio::post(strand_, [self = shared_from_this(), done = std::move(done), ec, n] { done(ec, n); });
}

void forwarded_transport::write(libchat::byte_view bytes, bool last, write_handler done) {
  if (ended_) {
    asio::post(strand_, [self = shared_from_this(), done = std::move(done)] { done(asio::error::broken_pipe); });
    return;
  }
  reply_(bytes, last);
  ended_ = last;
  asio::post(strand_, [self = shared_from_this(), done = std::move(done)] { done({}); });
}

void forwarded_transport::abort() {
  if (!ended_) reply_({}, true);
  ended_ = true;
}

void forwarded_transport::finish(std::function<void()> closed) {
  if (!ended_) reply_({}, true);
  ended_ = true;
  asio::post(strand_, [self = shared_from_this(), closed = std::move(closed)] { closed(); });
}

}  // namespace chat_server::cluster
