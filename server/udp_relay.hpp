// The chat socket's receive path, the hot path: wait until readable, read a batch with recvmmsg
// straight into pooled slots, drop what cannot be routed (counted), and hand each datagram to its
// room's strand. No heap allocation, no logging and no lock but the room table's shared lock.
#pragma once

#include "datagram_slot.hpp"
#include "fixed_pool.hpp"
#include "handler_memory.hpp"
#include "server_context.hpp"
#include "udp_sender.hpp"

#include <boost/asio/ip/udp.hpp>

#include <optional>

namespace chat_server {

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
  udp_relay(server_context& ctx, relay_memory& memory, const boost::asio::ip::udp::endpoint& bind);

  std::uint16_t port() const { return socket_.local_endpoint().port(); }
  udp_sender& sender() noexcept { return *sender_; }
  std::uint64_t handler_heap_fallbacks() const noexcept { return memory_.handlers.fallbacks(); }

  void start();
  void stop();

 private:
  static constexpr std::size_t batch_size = 32;

  void wait();
  void on_readable();
  std::size_t receive_batch();
  void route(datagram_slot* slot);
  void read_error_queue();

  server_context& ctx_;
  boost::asio::ip::udp::socket socket_;
  bool ipv6_;
  std::optional<udp_sender> sender_;
  relay_memory& memory_;
};

}  // namespace chat_server
