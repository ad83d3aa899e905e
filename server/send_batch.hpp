// Collects the datagrams one room call sends (a message's fan-out, its notices) and hands them to
// the kernel in one sendmmsg instead of one sendto each: on the relay's hot path the syscall,
// not the copy, is what costs. One batch per thread; a room call runs on one thread and flushes
// before it returns, so the batch is never shared.
#pragma once

#include "udp_sender.hpp"

#include "libchat/address.hpp"
#include "libchat/bytes.hpp"
#include "libchat/limits.hpp"
#include "libchat/secure_channel.hpp"

#include <array>
#include <cstdint>

#include <sys/socket.h>

namespace chat_server {

class send_batch {
 public:
  /// The batch of the calling thread.
  static send_batch& local();

  /// Queues a copy of `datagram` for `to`; flushes first when the batch is full. Consecutive
  /// identical datagrams (a plaintext fan-out) share one copy.
  void add(udp_sender& sender, const libchat::peer_address& to, libchat::byte_view datagram) noexcept;
  /// Sends what is queued.
  void flush() noexcept;

 private:
  static constexpr std::size_t capacity = 64;
  static constexpr std::size_t max_bytes = libchat::sealed_server_size(libchat::max_server_datagram);

  udp_sender* sender_ = nullptr;
  std::size_t count_ = 0;
  std::size_t copies_ = 0;
  std::array<mmsghdr, capacity> messages_{};
  std::array<iovec, capacity> vectors_{};
  std::array<sockaddr_storage, capacity> addresses_{};
  std::array<std::size_t, capacity> sizes_{};
  std::array<std::array<std::uint8_t, max_bytes>, capacity> copies_data_{};
};

}  // namespace chat_server
