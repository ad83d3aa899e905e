// Helpers of the attack tests (attack_*_test.cpp): sockets, raw counters from /proc, stats
// arithmetic, forged datagrams, one-off handshakes.
#pragma once

#include "impair_proxy.hpp"
#include "raw_socket.hpp"
#include "server_process.hpp"
#include "wire_client.hpp"
#include "libchat/control.hpp"
#include "libchat/datagram.hpp"
#include "libchat/token.hpp"
#include <catch2/catch.hpp>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

namespace attack_support {

using namespace chat_test;
using libchat::operation;
using libchat::tcrp_error;
using clock_type = std::chrono::steady_clock;
using bytes = std::vector<std::uint8_t>;

}  // namespace attack_support

// An AddressSanitizer build (CI's runs UBSan with it): the server under test is built so too.
#if defined(__SANITIZE_ADDRESS__)
#define ATTACK_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ATTACK_TEST_ASAN 1
#endif
#endif

namespace attack_support {


#ifdef ATTACK_TEST_ASAN
constexpr bool address_sanitizer_build = true;
#else
constexpr bool address_sanitizer_build = false;
#endif

inline const std::string leave_message = libchat::encode_control(libchat::control_type::leave);

inline double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

inline void report(const char* format, ...) __attribute__((format(printf, 1, 2)));
inline void report(const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::vprintf(format, args);
  va_end(args);
  std::printf("\n");
  std::fflush(stdout);
}

// --- the server process as the kernel sees it ------------------------------------------------

/// Open descriptors of a process (/proc/PID/fd), or those numbered below `below` (RLIMIT_NOFILE
/// bounds the numbers of new descriptors; inherited ones with higher numbers do not count).
inline std::size_t fd_count(int pid, std::size_t below = SIZE_MAX) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    n += std::stoul(it->path().filename().string()) < below ? 1 : 0;
  return n;
}

/// Waits until the server holds `expected` descriptors; how long it took, or nullopt.
inline std::optional<double> wait_fd_count(int pid, std::size_t expected, std::chrono::milliseconds within) {
  const auto start = clock_type::now();
  for (;;) {
    if (fd_count(pid) == expected) return ms_since(start);
    if (clock_type::now() - start > within) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

/// User + system CPU time of a process, in seconds (/proc/PID/stat fields 14 and 15).
inline double cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  const auto paren = line.rfind(')');
  std::istringstream fields(line.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

inline std::size_t count_in(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

inline std::uint64_t delta(std::map<std::string, std::uint64_t>& after, std::map<std::string, std::uint64_t>& before,
                    const std::string& key) {
  return after[key] - before[key];
}

inline bool balanced(std::map<std::string, std::uint64_t>& s) {
  return s["received"] == s["relayed"] + s["keepalive"] + s["control"] + s["dropped"];
}

/// Stats once the server has read `expected` more datagrams than in `before` (loopback delivery
/// runs in softirq context and can trail the sender), or after 3 s; then settled.
inline std::map<std::string, std::uint64_t> stats_after_receiving(server_process& server,
                                                           std::map<std::string, std::uint64_t>& before,
                                                           std::uint64_t expected) {
  const auto until = clock_type::now() + std::chrono::seconds(3);
  while (server.stats()["received"] - before["received"] < expected && clock_type::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return server.settled_stats();
}

/// Polls the stats until `key` has the value `expected` (gauges settle asynchronously).
inline std::map<std::string, std::uint64_t> wait_gauge(server_process& server, const std::string& key, std::uint64_t expected,
                                                std::chrono::milliseconds within = std::chrono::seconds(3)) {
  const auto until = clock_type::now() + within;
  for (;;) {
    auto s = server.settled_stats();
    if (s[key] == expected || clock_type::now() >= until) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// --- sockets -----------------------------------------------------------------------------------

inline sockaddr_in ipv4(const std::string& ip, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) throw std::runtime_error("bad address " + ip);
  return a;
}

/// A connected TCP socket from `source_ip`; -1 if the connection failed.
inline int tcp_connect(const std::string& source_ip, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const auto source = ipv4(source_ip, 0);
  const auto server = ipv4("127.0.0.1", port);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&source), sizeof source) != 0 ||
      ::connect(fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Closes with a TCP reset instead of a FIN.
inline void reset_close(int fd) {
  const linger abort_now{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_now, sizeof abort_now);
  ::close(fd);
}

/// A plain UDP socket with its descriptor in view, for floods and for counting what arrives.
class udp_socket {
 public:
  explicit udp_socket(const std::string& ip = "127.0.0.1") : ip_(ip) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    const auto local = ipv4(ip, 0);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0)
      throw std::runtime_error("cannot bind UDP to " + ip);
    const int buffer = 4 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  }
  ~udp_socket() { ::close(fd_); }
  udp_socket(const udp_socket&) = delete;
  udp_socket& operator=(const udp_socket&) = delete;

  const std::string& ip() const { return ip_; }
  std::uint16_t port() const {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }
  /// False when the kernel did not take it.
  bool send_to(std::uint16_t port, std::span<const std::uint8_t> datagram) {
    const auto to = ipv4("127.0.0.1", port);
    return ::sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) >= 0;
  }
  /// sendmmsg in batches; returns how many the kernel took.
  std::size_t send_many(std::uint16_t port, const std::vector<bytes>& datagrams) {
    auto to = ipv4("127.0.0.1", port);
    std::size_t sent = 0;
    for (std::size_t at = 0; at < datagrams.size();) {
      const std::size_t n = std::min<std::size_t>(64, datagrams.size() - at);
      std::vector<mmsghdr> messages(n);
      std::vector<iovec> vectors(n);
      for (std::size_t i = 0; i < n; ++i) {
        vectors[i] = {const_cast<std::uint8_t*>(datagrams[at + i].data()), datagrams[at + i].size()};
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_name = &to;
        messages[i].msg_hdr.msg_namelen = sizeof to;
      }
      const int r = ::sendmmsg(fd_, messages.data(), static_cast<unsigned>(n), 0);
      if (r <= 0) {
        if (errno == EAGAIN || errno == ENOBUFS) {
          std::this_thread::sleep_for(std::chrono::microseconds(200));
          continue;
        }
        break;
      }
      sent += static_cast<std::size_t>(r);
      at += static_cast<std::size_t>(r);
    }
    return sent;
  }
  std::optional<bytes> receive(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    bytes buf(65536);
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    return buf;
  }
  /// Reads everything that arrives until `quiet` passes without a datagram: {datagrams, bytes}.
  std::pair<std::uint64_t, std::uint64_t> drain(std::chrono::milliseconds quiet) {
    std::uint64_t datagrams = 0, total = 0;
    while (auto d = receive(quiet)) {
      ++datagrams;
      total += d->size();
    }
    return {datagrams, total};
  }

 private:
  int fd_ = -1;
  std::string ip_;
};

inline bytes client_datagram(const std::string& room, const std::string& token, std::string_view message) {
  bytes out(2 + room.size() + token.size() + message.size());
  out[0] = static_cast<std::uint8_t>(room.size());
  out[1] = static_cast<std::uint8_t>(token.size());
  std::memcpy(out.data() + 2, room.data(), room.size());
  std::memcpy(out.data() + 2 + room.size(), token.data(), token.size());
  if (!message.empty()) std::memcpy(out.data() + 2 + room.size() + token.size(), message.data(), message.size());
  return out;
}

/// A sealed-looking datagram: room, session id, counter, and `garbage` bytes that will not verify.
inline bytes sealed_datagram(const std::string& room, std::uint64_t session, std::uint64_t counter, std::mt19937_64& rng,
                      std::size_t garbage) {
  bytes out(2 + room.size() + 16 + garbage);
  out[0] = static_cast<std::uint8_t>(room.size());
  out[1] = 8;
  std::memcpy(out.data() + 2, room.data(), room.size());
  for (int i = 0; i < 8; ++i) {
    out[2 + room.size() + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(session >> (56 - 8 * i));
    out[2 + room.size() + 8 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(counter >> (56 - 8 * i));
  }
  for (std::size_t i = 2 + room.size() + 16; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(rng());
  return out;
}

inline std::string random_token_text(std::mt19937_64& rng) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string t(libchat::token_text_size, 'A');
  for (char& c : t) c = alphabet[rng() % 64];
  return t;
}

/// The session id (public index) inside a reference-server token.
inline std::uint64_t token_index(const std::string& token) {
  auto parsed = libchat::parse_token(token);
  if (!parsed) throw std::runtime_error("not a reference-server token");
  return parsed->index;
}

/// Reads chat messages (not notices) until `quiet` passes; returns their texts.
inline std::vector<std::string> chat_texts(udp_peer& peer, std::chrono::milliseconds quiet,
                                    std::vector<std::string>* notices = nullptr) {
  std::vector<std::string> texts;
  while (auto got = peer.receive_message(quiet)) {
    if (got->first.empty()) {
      if (notices) notices->push_back(got->second);
    } else {
      texts.push_back(got->second);
    }
  }
  return texts;
}

/// A join (or create) that reports its error instead of throwing.
struct join_attempt {
  std::optional<member> joined;
  std::optional<tcrp_error> error;
};
inline join_attempt try_join(std::uint16_t tcp_port, std::uint16_t udp_port, operation op, const std::string& room,
                      const std::string& username, const std::string& ip = "127.0.0.1") {
  auto r = handshake(tcp_port, op, room, username, std::nullopt, ip);
  if (!r.completion) return {std::nullopt, r.error ? r.error->error : tcrp_error::internal_error};
  member m{room, r.completion->token, std::make_unique<udp_peer>(udp_port, ip)};
  m.say("");
  // The pong is the first datagram a new member gets; a retry covers a lost keepalive.
  for (int i = 0; i < 3; ++i) {
    if (auto pong = m.udp->receive_message(std::chrono::seconds(1)); pong && pong->second == R"({"event":"pong"})") {
      m.members = receive_members([&m] { return m.udp->receive_message(std::chrono::seconds(1)); });
      return {std::move(m), std::nullopt};
    }
    m.say("");
  }
  throw std::runtime_error("no pong for " + username);
}

/// An encrypted handshake that stops at the token: the member never sends a datagram.
struct sealed_token {
  std::unique_ptr<libchat::secure_channel> channel;
  std::uint64_t session = 0;
};
inline sealed_token secure_token_only(std::uint16_t tcp_port, const libchat::public_key& key, const std::string& room,
                               const std::string& username) {
  libchat::client_handshake hs(key, static_cast<std::uint8_t>(operation::join_room), room);
  const auto frames = tcrp_exchange(
      tcp_port, libchat::encode_frame(static_cast<std::uint8_t>(operation::join_room), libchat::frame_state::request,
                                      room, hs.seal_request({username, std::nullopt, wall_now()}).value()));
  for (const auto& f : frames) {
    if (f.state == 1) {
      auto response = hs.open_response(f.payload);
      if (!response || std::holds_alternative<libchat::error_response>(*response))
        throw std::runtime_error("encrypted join refused");
    } else if (f.state == 2) {
      auto completion = hs.open_completion(f.payload);
      if (!completion || !std::holds_alternative<libchat::completion_response>(*completion))
        throw std::runtime_error("encrypted join failed");
      const auto& done = std::get<libchat::completion_response>(*completion);
      return {hs.channel(*done.session, done.key_datagrams.value_or(libchat::default_key_datagrams)), *done.session};
    }
  }
  throw std::runtime_error("no completion");
}

inline bytes seal(libchat::secure_channel& channel, const std::string& room, std::string_view text) {
  std::array<std::uint8_t, libchat::max_client_datagram> out{};
  auto n = channel.seal_client_datagram(room, libchat::as_bytes(text), out);
  if (!n) throw std::runtime_error("cannot seal");
  return bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(*n));
}

inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}


// A plaintext room "plain" and an encrypted room "sealed", each with its host and one joined
// member, the hosts past their joined notice: the setting of the attacks on tokens and addresses.
struct two_rooms {
  member plain_host, plain_member;
  secure_result sealed_host, sealed_member;
};

inline two_rooms open_two_rooms(const server_process& s, const std::array<const char*, 4>& names) {
  two_rooms r{join_member(s.tcp_port(), s.udp_port(), operation::create_room, "plain", names[0]),
              join_member(s.tcp_port(), s.udp_port(), operation::join_room, "plain", names[1]),
              join_secure(s.tcp_port(), s.udp_port(), operation::create_room, "sealed", names[2]),
              join_secure(s.tcp_port(), s.udp_port(), operation::join_room, "sealed", names[3])};
  REQUIRE(r.sealed_host.member);
  REQUIRE(r.sealed_member.member);
  REQUIRE(r.plain_host.udp->receive_message());  // joined
  REQUIRE(r.sealed_host.member->receive_message());
  return r;
}


}  // namespace attack_support
