// The --lobby-port relay: a libchat::lobby on its own socket and strand. Off by default; it has
// no tokens, so it is for trusted networks only.
#pragma once

#include "libchat/limits.hpp"
#include "libchat/lobby.hpp"
#include "counters.hpp"
#include "udp_sender.hpp"

#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <array>
#include <optional>

namespace chat_server {

class lobby_host {
 public:
  lobby_host(boost::asio::io_context& io, counters& stats, const libchat::lobby_limits& limits,
             const boost::asio::ip::udp::endpoint& bind);

  std::uint16_t port() const { return socket_.local_endpoint().port(); }
  std::size_t member_count() const noexcept { return members_.load(std::memory_order_relaxed); }

  void start();
  /// Tells every address the server is stopping, then closes; `done` runs on the strand after.
  void shutdown(std::function<void()> done);

 private:
  class output;
  void receive();
  void after_change();

  counters& stats_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::udp::socket socket_;
  boost::asio::steady_timer timer_;
  std::optional<udp_sender> sender_;
  libchat::lobby lobby_;
  std::array<std::uint8_t, libchat::receive_buffer_size> buffer_{};
  boost::asio::ip::udp::endpoint from_;
  std::atomic<std::size_t> members_{0};
};

}  // namespace chat_server
