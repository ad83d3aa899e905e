// Collects the datagrams room calls send (a message's fan-out, its notices) and hands them to the
// kernel in one sendmmsg instead of one sendto each: on the relay's hot path the syscall, not the
// copy, is what costs. One batch per thread, never shared. A room call flushes before it returns,
// unless the thread holds the batch: the receive loop holds it while it hands one recvmmsg's
// datagrams to their rooms (those whose strand is free run right there), so that a batch of 1:1
// messages leaves in one sendmmsg rather than one each, as limit-relay does.
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
  /// Flushes unless the thread holds the batch (end of a room call).
  void flush_unless_held() noexcept {
    if (!held_) flush();
  }

  /// Holds the batch for a scope: room calls on this thread leave their datagrams queued until
  /// the scope ends, which flushes. The batch still flushes whenever it is full.
  class hold {
   public:
    hold() : batch_(local()) { batch_.held_ = true; }
    ~hold() {
      batch_.held_ = false;
      batch_.flush();
    }
    hold(const hold&) = delete;
    hold& operator=(const hold&) = delete;

   private:
    send_batch& batch_;
  };

 private:
  static constexpr std::size_t capacity = 64;
  static constexpr std::size_t max_bytes = libchat::sealed_server_size(libchat::max_server_datagram);

  udp_sender* sender_ = nullptr;
  bool held_ = false;
  std::size_t count_ = 0;
  std::size_t copies_ = 0;
  std::array<mmsghdr, capacity> messages_{};
  std::array<iovec, capacity> vectors_{};
  std::array<sockaddr_storage, capacity> addresses_{};
  std::array<std::size_t, capacity> sizes_{};
  std::array<std::array<std::uint8_t, max_bytes>, capacity> copies_data_{};
};

}  // namespace chat_server
