#include "lobby_host.hpp"

#include "net_address.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>

namespace chat_server {
namespace asio = boost::asio;

class lobby_host::output final : public libchat::room_output {
 public:
  explicit output(udp_sender& sender) : sender_(sender) {}
  void send(const libchat::peer_address& to, libchat::byte_view datagram) override { sender_.send(to, datagram); }
  void on_event(const libchat::room_event&) override {}

 private:
  udp_sender& sender_;
};

lobby_host::lobby_host(asio::io_context& io, counters& stats, const libchat::lobby_limits& limits,
                       const asio::ip::udp::endpoint& bind)
    : stats_(stats),
      strand_(asio::make_strand(io)),
      socket_(strand_, bind.protocol()),
      timer_(strand_),
      lobby_(limits) {
  if (bind.address().is_v6()) socket_.set_option(asio::ip::v6_only(false));
  socket_.bind(bind);
  socket_.non_blocking(true);
  sender_.emplace(socket_.native_handle(), bind.address().is_v6(), stats);
}

void lobby_host::start() {
  asio::post(strand_, [this] { receive(); });
}

void lobby_host::receive() {
  socket_.async_receive_from(asio::buffer(buffer_), from_, [this](const boost::system::error_code& ec, std::size_t n) {
    if (ec == asio::error::operation_aborted || !socket_.is_open()) return;
    if (!ec) {
      stats_.add(counter::lobby_received);
      libchat::peer_address peer{to_ip(from_.address()), from_.port()};
      output out(*sender_);
      stats_.lobby_outcome(lobby_.on_datagram({buffer_.data(), n}, peer, std::chrono::steady_clock::now(), out));
      after_change();
    }
    receive();
  });
}

void lobby_host::after_change() {
  members_.store(lobby_.member_count(), std::memory_order_relaxed);
  const auto next = lobby_.next_deadline();
  if (!next || timer_.expiry() > std::chrono::steady_clock::now()) return;  // armed already
  timer_.expires_at(*next);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    lobby_.expire(std::chrono::steady_clock::now());
    after_change();
  });
}

void lobby_host::shutdown(std::function<void()> done) {
  asio::post(strand_, [this, done = std::move(done)] {
    output out(*sender_);
    lobby_.shutdown(out);
    members_.store(0, std::memory_order_relaxed);
    timer_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
    done();
  });
}

}  // namespace chat_server
