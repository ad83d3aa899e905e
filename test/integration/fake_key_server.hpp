// A fake key server for chat-client's tests (shared by cli_client_test.cpp and
// cli_pinning_test.cpp): it answers operation 3 and nothing else.
#pragma once

#include <libchat/secure_handshake.hpp>
#include <libchat/tcrp.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace chat_test {

// A fake server on loopback that answers operation 3 with the key it is given (any 32 bytes, as
// an impostor at the server's address could), or with a plaintext error payload as an old
// plaintext-only server would (and as a man in the middle can), and counts what else arrives.
class fake_key_server {
 public:
  explicit fake_key_server(const libchat::public_key& key)
      : fake_key_server(libchat::encode_server_key_response(key)) {}
  explicit fake_key_server(std::string key_reply) : key_reply_(std::move(key_reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("fake server: cannot listen");
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~fake_key_server() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  int key_requests() const { return key_requests_; }
  int other_requests() const { return other_requests_; }  // a create or join: the client went on

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::vector<std::uint8_t> header(32);
      if (read_exactly(c, header)) {
        std::uint64_t size = 0;
        for (int i = 24; i < 32; ++i) size = size << 8 | header[static_cast<std::size_t>(i)];
        std::vector<std::uint8_t> body(header[0] + std::min<std::uint64_t>(size, 65536));
        if (read_exactly(c, body) && header[1] == static_cast<std::uint8_t>(libchat::operation::server_key)) {
          ++key_requests_;
          const auto reply = libchat::encode_frame(header[1], libchat::frame_state::response, {}, key_reply_);
          (void)::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
        } else {
          ++other_requests_;
        }
      }
      ::close(c);
    }
  }
  static bool read_exactly(int fd, std::vector<std::uint8_t>& into) {
    for (std::size_t have = 0; have < into.size();) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) return false;
      const ssize_t n = ::recv(fd, into.data() + have, into.size() - have, 0);
      if (n <= 0) return false;
      have += static_cast<std::size_t>(n);
    }
    return true;
  }

  std::string key_reply_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> key_requests_{0}, other_requests_{0};
  std::thread thread_;
};

inline std::size_t line_count(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace chat_test
