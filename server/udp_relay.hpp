// The chat port's receive path, the hot path: wait until readable, read a batch with recvmmsg
// straight into pooled slots, drop what cannot be routed (counted), and hand each datagram to its
// room's strand. No heap allocation, no logging and no lock but the room table's shared lock.
//
// Several sockets share the port (SO_REUSEPORT), one receive loop each, so that the pool's threads
// receive in parallel; the kernel keeps each client on one socket. Sends all go out of the first.
#pragma once

#include "datagram_slot.hpp"
#include "fixed_pool.hpp"
#include "handler_memory.hpp"
#include "counters.hpp"
#include "udp_sender.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <memory>
#include <optional>
#include <vector>

namespace chat_server {

class room_table;

/// The relay's preallocated memory. It must outlive the io_context, because destroying an
/// io_context destroys pending handlers, which return their memory here.
struct relay_memory {
  // Datagrams in flight between the socket and the strands: a strand takes tens of microseconds,
  // so even at a few hundred thousand per second only dozens are; past this many a datagram is
  // dropped as `overloaded`. Each slot costs a page of memory.
  static constexpr std::uint32_t slot_count = 1024;
  fixed_pool<datagram_slot> slots{slot_count};
  // Each slot needs one handler block; a strand that was idle needs one more for its invoker.
  handler_memory handlers{2 * slot_count};
};

class udp_relay {
 public:
  /// Opens `sockets` sockets on the endpoint (at least one).
  /// `socket_buffer`: the SO_RCVBUF/SO_SNDBUF to ask for.
  udp_relay(boost::asio::io_context& io, counters& stats, room_table& rooms, relay_memory& memory,
            const boost::asio::ip::udp::endpoint& bind, unsigned sockets, std::size_t socket_buffer);

  std::uint16_t port() const { return sockets_.front()->local_endpoint().port(); }
  /// The first socket's sender: for what no received datagram caused (timers, handshakes).
  udp_sender& sender() noexcept { return *senders_.front(); }
  std::uint64_t handler_heap_fallbacks() const noexcept { return memory_.handlers.fallbacks(); }

  void start();
  void stop();

 private:
  static constexpr std::size_t batch_size = 32;

  using socket_type = boost::asio::ip::udp::socket;
  void open(socket_type& socket, const boost::asio::ip::udp::endpoint& bind, bool shared);
  void wait(socket_type& socket);
  void on_readable(socket_type& socket);
  std::size_t receive_batch(socket_type& socket, bool& reports);
  void count_kernel_drops(socket_type& socket, const msghdr& message);
  std::size_t socket_index(const socket_type& socket) const noexcept;
  void route(datagram_slot* slot);
  void read_error_queue(socket_type& socket);

  counters& stats_;
  room_table& rooms_;
  std::size_t socket_buffer_;
  std::vector<std::unique_ptr<socket_type>> sockets_;
  bool ipv6_;
  std::vector<std::unique_ptr<udp_sender>> senders_;  // one per socket, same order
  relay_memory& memory_;
  std::vector<std::uint32_t> kernel_drops_seen_;  // SO_RXQ_OVFL's last value, per socket
};

}  // namespace chat_server
