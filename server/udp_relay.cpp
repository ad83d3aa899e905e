#include "udp_relay.hpp"

#include "net_address.hpp"
#include "room_host.hpp"
#include "room_table.hpp"

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include <linux/errqueue.h>
#include <netinet/ip.h>

#include <array>
#include <cerrno>
#include <algorithm>
#include <cstring>

namespace chat_server {
namespace asio = boost::asio;

namespace {
// Batches read per wake-up before yielding the thread to other handlers.
constexpr int batches_per_wakeup = 8;
}  // namespace

udp_relay::udp_relay(asio::io_context& io, counters& stats, room_table& rooms, relay_memory& memory,
                     const asio::ip::udp::endpoint& bind, unsigned sockets, std::size_t socket_buffer)
    : stats_(stats), rooms_(rooms), socket_buffer_(socket_buffer), ipv6_(bind.address().is_v6()), memory_(memory) {
  asio::ip::udp::endpoint where = bind;
  for (unsigned i = 0; i < std::max(1u, sockets); ++i) {
    sockets_.push_back(std::make_unique<socket_type>(io, bind.protocol()));
    open(*sockets_.back(), where, sockets > 1);
    where.port(sockets_.front()->local_endpoint().port());  // port 0: the others join the chosen one
  }
  for (const auto& socket : sockets_)
    senders_.push_back(std::make_unique<udp_sender>(socket->native_handle(), ipv6_, stats));
  kernel_drops_seen_.assign(sockets_.size(), 0);
}

void udp_relay::open(socket_type& socket, const asio::ip::udp::endpoint& bind, bool shared) {
  if (ipv6_) socket.set_option(asio::ip::v6_only(false));
  const int buffer = static_cast<int>(std::min<std::size_t>(socket_buffer_, 1u << 30));
  socket.set_option(asio::socket_base::receive_buffer_size(buffer));
  socket.set_option(asio::socket_base::send_buffer_size(buffer));
  const int on = 1;
  if (shared) ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on);
  // Ask the kernel to report ICMP errors for datagrams we send (unreachable members). Without
  // this, Linux keeps them invisible on an unconnected socket.
  ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_RECVERR, &on, sizeof on);
  if (ipv6_) ::setsockopt(socket.native_handle(), IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on);
  socket.bind(bind);
  socket.non_blocking(true);
}

void udp_relay::start() {
  for (auto& socket : sockets_) wait(*socket);
}

void udp_relay::stop() {
  boost::system::error_code ignored;
  for (auto& socket : sockets_) socket->close(ignored);
}

void udp_relay::wait(socket_type& socket) {
  socket.async_wait(asio::socket_base::wait_read, [this, &socket](const boost::system::error_code& ec) {
    if (ec) return;  // closed at shutdown
    on_readable(socket);
  });
}

void udp_relay::on_readable(socket_type& socket) {
  bool reports = false;
  for (int i = 0; i < batches_per_wakeup; ++i) {
    if (receive_batch(socket, reports) < batch_size) break;  // the socket is drained
  }
  // Each socket sends what its own datagrams cause, but the kernel files an ICMP report with the
  // socket of the port's SO_REUSEPORT group that the member's address hash picks, which may be
  // another: every socket drains its own error queue when it sees an error, on receiving or
  // sending (a queue left full would also keep the socket readable, and the loop spinning).
  // They are read after the datagrams that were already queued, so that a member who said leave
  // and closed its socket has left before the report about its closed port is looked at.
  const bool sender_saw_one = senders_[socket_index(socket)]->take_error_report();
  if (reports || sender_saw_one) read_error_queue(socket);
  wait(socket);
}

std::size_t udp_relay::receive_batch(socket_type& socket, bool& reports) {
  std::array<datagram_slot*, batch_size> slots{};
  std::array<mmsghdr, batch_size> messages{};
  std::array<iovec, batch_size> vectors{};
  std::array<sockaddr_storage, batch_size> addresses{};
  // SO_RXQ_OVFL: each datagram carries the socket's running count of datagrams the kernel dropped
  // for want of buffer space, so that the stats can say how many never reached us.
  alignas(cmsghdr) std::array<std::array<char, CMSG_SPACE(sizeof(std::uint32_t))>, batch_size> controls{};
  std::size_t ready = 0;
  for (; ready < batch_size; ++ready) {
    slots[ready] = memory_.slots.acquire();
    if (!slots[ready]) break;
    vectors[ready] = {slots[ready]->bytes.data(), slots[ready]->bytes.size()};
    messages[ready].msg_hdr.msg_iov = &vectors[ready];
    messages[ready].msg_hdr.msg_iovlen = 1;
    messages[ready].msg_hdr.msg_name = &addresses[ready];
    messages[ready].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    messages[ready].msg_hdr.msg_control = controls[ready].data();
    messages[ready].msg_hdr.msg_controllen = controls[ready].size();
  }
  if (ready == 0) {
    // Every slot is in flight: read one datagram into a scratch buffer just to count and drop it,
    // so that the socket keeps draining and the accounting stays exact.
    std::array<std::uint8_t, 1> sink{};
    const ssize_t n = ::recv(socket.native_handle(), sink.data(), sink.size(), MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) return 0;
    stats_.add(counter::received);
    stats_.drop(libchat::errc::overloaded);
    return 1;
  }

  const int got = ::recvmmsg(socket.native_handle(), messages.data(), static_cast<unsigned>(ready), MSG_DONTWAIT,
                             nullptr);
  const int error = got < 0 ? errno : 0;
  const std::size_t received = got > 0 ? static_cast<std::size_t>(got) : 0;
  const bool would_block = error == EAGAIN || error == EWOULDBLOCK;
  // With IP_RECVERR, an ICMP report for an earlier send surfaces here as an error.
  if (reports_earlier_error(error)) reports = true;
  if (received > 0) count_kernel_drops(socket, messages[received - 1].msg_hdr);
  udp_sender* via = senders_[socket_index(socket)].get();
  for (std::size_t i = 0; i < received; ++i) {
    datagram_slot* slot = slots[i];
    slot->via = via;
    stats_.add(counter::received);
    const bool truncated = (messages[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    slot->size = truncated ? slot->bytes.size() + 1 : messages[i].msg_len;
    if (!to_peer(addresses[i], slot->from)) {
      stats_.drop(libchat::errc::malformed);
      memory_.slots.release(slot);
      continue;
    }
    route(slot);
  }
  for (std::size_t i = received; i < ready; ++i) memory_.slots.release(slots[i]);
  // An error still counts as "maybe more": the caller loops again until EAGAIN.
  return error != 0 && !would_block ? batch_size : received;
}

void udp_relay::count_kernel_drops(socket_type& socket, const msghdr& message) {
  for (const cmsghdr* c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(const_cast<msghdr*>(&message), const_cast<cmsghdr*>(c))) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL) continue;
    std::uint32_t total = 0;
    std::memcpy(&total, CMSG_DATA(c), sizeof total);
    // Only this socket's receive loop touches its entry.
    const std::size_t index = socket_index(socket);
    const std::uint32_t delta = total - kernel_drops_seen_[index];  // wraps as the kernel's count does
    kernel_drops_seen_[index] = total;
    if (delta) stats_.add(counter::kernel_drops, delta);
  }
}

std::size_t udp_relay::socket_index(const socket_type& socket) const noexcept {
  for (std::size_t i = 0; i < sockets_.size(); ++i)
    if (sockets_[i].get() == &socket) return i;
  return 0;
}

void udp_relay::route(datagram_slot* slot) {
  if (slot->size > libchat::max_client_datagram) {
    stats_.drop(libchat::errc::oversize);
    return memory_.slots.release(slot);
  }
  auto decoded = libchat::decode_client_datagram({slot->bytes.data(), slot->size});
  if (!decoded) {
    stats_.drop(static_cast<libchat::errc>(decoded.error().value()));
    return memory_.slots.release(slot);
  }
  slot->decoded = *decoded;
  std::shared_ptr<room_host> host = rooms_.find(slot->decoded.room);
  if (!host) {
    stats_.drop(libchat::errc::unknown_room);
    return memory_.slots.release(slot);
  }
  room_host* target = host.get();
  // dispatch, not post: when the room's strand is idle, the datagram is handled right here on the
  // receiving thread (the io_context executor runs it inline), instead of waking another thread
  // for it; when the strand is busy elsewhere, it queues behind that work.
  asio::dispatch(target->strand(), asio::bind_allocator(pooled_allocator<void>(memory_.handlers),
                                                    [&slots = memory_.slots, slot, host = std::move(host)]() {
                                                      host->on_datagram(*slot);
                                                      slots.release(slot);
                                                    }));
}

void udp_relay::read_error_queue(socket_type& socket) {
  // Each queued report names the destination of the datagram that failed. Drain them: queued
  // reports take room in the socket's receive buffer, so a flood of forged ones left there would
  // crowd out datagrams (the bound keeps one wake-up from starving the others).
  for (int i = 0; i < 4096; ++i) {
    std::array<std::uint8_t, 64> payload{};
    std::array<std::uint8_t, 512> control{};
    sockaddr_storage address{};
    iovec vec{payload.data(), payload.size()};
    msghdr msg{};
    msg.msg_name = &address;
    msg.msg_namelen = sizeof address;
    msg.msg_iov = &vec;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    if (::recvmsg(socket.native_handle(), &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return;
    bool unreachable = false;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
          (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
        sock_extended_err err{};
        std::memcpy(&err, CMSG_DATA(c), sizeof err);
        unreachable = err.ee_origin == SO_EE_ORIGIN_ICMP || err.ee_origin == SO_EE_ORIGIN_ICMP6 ||
                      err.ee_origin == SO_EE_ORIGIN_LOCAL;
      }
    }
    libchat::peer_address endpoint;
    if (!unreachable || !to_peer(address, endpoint)) continue;
    stats_.add(counter::icmp_errors);
    if (auto host = rooms_.find_endpoint(endpoint)) {
      room_host* target = host.get();
      asio::post(target->strand(), [host = std::move(host), endpoint] { host->on_unreachable(endpoint); });
    }
  }
}

}  // namespace chat_server
