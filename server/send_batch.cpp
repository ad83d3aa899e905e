#include "send_batch.hpp"

#include "net_address.hpp"

#include <cstring>
#include <memory>

namespace chat_server {

send_batch& send_batch::local() {
  // On the heap (about 270 KiB), once per thread, so that threads' stacks stay small.
  thread_local const std::unique_ptr<send_batch> batch = std::make_unique<send_batch>();
  return *batch;
}

void send_batch::add(udp_sender& sender, const libchat::peer_address& to, libchat::byte_view datagram) noexcept {
  if (datagram.size() > max_bytes) return;  // cannot happen: rooms never make larger datagrams
  if (count_ == capacity || (sender_ && sender_ != &sender)) flush();
  sender_ = &sender;

  const socklen_t length = to_sockaddr(to, sender.ipv6(), addresses_[count_]);
  if (length == 0) return;  // an IPv6 member on an IPv4 socket cannot happen either

  // Share the previous copy when the bytes are the same (the fan-out of one message).
  const bool same = copies_ > 0 && sizes_[copies_ - 1] == datagram.size() &&
                    std::memcmp(copies_data_[copies_ - 1].data(), datagram.data(), datagram.size()) == 0;
  if (!same) {
    std::memcpy(copies_data_[copies_].data(), datagram.data(), datagram.size());
    sizes_[copies_] = datagram.size();
    ++copies_;
  }
  vectors_[count_] = {copies_data_[copies_ - 1].data(), datagram.size()};
  mmsghdr& m = messages_[count_];
  m = {};
  m.msg_hdr.msg_name = &addresses_[count_];
  m.msg_hdr.msg_namelen = length;
  m.msg_hdr.msg_iov = &vectors_[count_];
  m.msg_hdr.msg_iovlen = 1;
  ++count_;
}

void send_batch::flush() noexcept {
  if (count_ > 0 && sender_) sender_->send_many(messages_.data(), count_);
  count_ = 0;
  copies_ = 0;
}

}  // namespace chat_server
