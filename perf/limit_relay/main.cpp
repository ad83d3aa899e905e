// limit-relay: the reference for what the kernel allows. A minimal single-threaded relay of the
// chat datagram format (docs/protocol.md §6), batched with recvmmsg/sendmmsg, that does only what
// a relay cannot avoid: read a datagram, find its room and sender, write one datagram per other
// member. No handshake, no crypto, no UTF-8 check, no timeouts, no token check: a member is
// registered by the first datagram of each (room, source address), and its token (without the
// '~' padding chat-bench adds) is its name in the relayed datagrams. An empty message is a
// keepalive, answered with a pong notice as chat-server does; a message starting with 0x00 is
// taken as a leave.
//
// It prints "limit-relay listening udp=HOST:PORT ..." on stderr once ready, and its counters on
// SIGINT/SIGTERM, then exits 0.
//
//   limit-relay [--bind ADDR] [--port P] [--batch N] [--socket-buffer BYTES] [--flush N] [--no-batch]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

volatile std::sig_atomic_t stop_requested = 0;
void on_signal(int) { stop_requested = 1; }

constexpr std::size_t max_datagram = 4096;
constexpr std::size_t max_out = 4094;
constexpr std::size_t send_queue = 1024;  // UIO_MAXIOV: the most sendmmsg takes at once
constexpr std::string_view pong = std::string_view("\0{\"event\":\"pong\"}", 17);

struct settings {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 0;
  std::size_t batch = 64;
  int socket_buffer = 4 << 20;  // as chat-server's --socket-buffer default
  std::size_t flush_at = 64;    // queued datagrams that make the relay send before reading on
  bool batching = true;
};

// A source address as a hashable key (IPv4 or IPv6 with port).
struct address_key {
  std::array<std::uint8_t, 18> bytes{};
  bool operator==(const address_key&) const = default;
};
struct address_hash {
  std::size_t operator()(const address_key& k) const noexcept {
    std::uint64_t h = 1469598103934665603ULL;
    for (const auto b : k.bytes) h = (h ^ b) * 1099511628211ULL;
    return static_cast<std::size_t>(h);
  }
};

address_key key_of(const sockaddr_storage& a) {
  address_key k;
  if (a.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(a);
    std::memcpy(k.bytes.data(), &v4.sin_addr, 4);
    std::memcpy(k.bytes.data() + 16, &v4.sin_port, 2);
  } else {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(a);
    std::memcpy(k.bytes.data(), &v6.sin6_addr, 16);
    std::memcpy(k.bytes.data() + 16, &v6.sin6_port, 2);
  }
  return k;
}

struct member {
  sockaddr_storage address{};
  socklen_t length = 0;
  std::string header;  // SenderNameSize | name
};

struct room {
  std::vector<member> members;
  std::unordered_map<address_key, std::uint32_t, address_hash> index;
};

struct text_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

struct counters {
  std::uint64_t received = 0, relayed_in = 0, keepalives = 0, leaves = 0, malformed = 0, sent = 0, send_errors = 0;
};

class relay {
 public:
  relay(int fd, const settings& s) : fd_(fd), settings_(s) {
    in_data_.resize(s.batch * (max_datagram + 1));
    in_vectors_.resize(s.batch);
    in_messages_.resize(s.batch);
    in_addresses_.resize(s.batch);
    out_data_.resize(s.batch * max_out);
    out_vectors_.resize(send_queue);
    out_messages_.resize(send_queue);
    out_addresses_.resize(send_queue);
    for (std::size_t i = 0; i < s.batch; ++i) {
      in_vectors_[i] = {in_data_.data() + i * (max_datagram + 1), max_datagram + 1};
      in_messages_[i].msg_hdr.msg_iov = &in_vectors_[i];
      in_messages_[i].msg_hdr.msg_iovlen = 1;
    }
  }

  void run() {
    while (!stop_requested) {
      std::size_t got = 0;
      if (settings_.batching) {
        for (std::size_t i = 0; i < settings_.batch; ++i) {
          in_messages_[i].msg_hdr.msg_name = &in_addresses_[i];
          in_messages_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        }
        // Blocks for the first datagram, then takes what is queued (MSG_WAITFORONE).
        const int n = ::recvmmsg(fd_, in_messages_.data(), static_cast<unsigned>(settings_.batch), MSG_WAITFORONE,
                                 nullptr);
        if (n < 0) {
          if (errno == EINTR) continue;
          std::perror("limit-relay: recvmmsg");
          return;
        }
        got = static_cast<std::size_t>(n);
      } else {
        socklen_t len = sizeof(sockaddr_storage);
        const ssize_t n = ::recvfrom(fd_, in_vectors_[0].iov_base, in_vectors_[0].iov_len, 0,
                                     reinterpret_cast<sockaddr*>(&in_addresses_[0]), &len);
        if (n < 0) {
          if (errno == EINTR) continue;
          std::perror("limit-relay: recvfrom");
          return;
        }
        in_messages_[0].msg_len = static_cast<unsigned>(n);
        in_messages_[0].msg_hdr.msg_namelen = len;
        got = 1;
      }
      out_used_ = 0;
      for (std::size_t i = 0; i < got; ++i) {
        handle(i, {static_cast<const std::uint8_t*>(in_vectors_[i].iov_base), in_messages_[i].msg_len});
        // Sending a large batch in one call would hold back the first message's recipients for
        // the whole batch: send once enough is queued (a few messages' fan-out).
        if (out_used_ >= settings_.flush_at) flush();
      }
      flush();
    }
  }

  const counters& stats() const { return stats_; }
  std::size_t rooms() const { return rooms_.size(); }
  std::size_t members() const {
    std::size_t n = 0;
    for (const auto& [name, r] : rooms_) n += r.members.size();
    return n;
  }

 private:
  void handle(std::size_t i, std::basic_string_view<std::uint8_t> d) {
    ++stats_.received;
    if (d.size() < 2 || d.size() > max_datagram || d[0] == 0 || d[1] == 0 ||
        d.size() < 2u + d[0] + d[1]) {
      ++stats_.malformed;
      return;
    }
    const std::string_view name(reinterpret_cast<const char*>(d.data()) + 2, d[0]);
    const std::string_view token(reinterpret_cast<const char*>(d.data()) + 2 + d[0], d[1]);
    const auto* message = d.data() + 2 + d[0] + d[1];
    const std::size_t message_size = d.size() - 2 - d[0] - d[1];
    const auto& from = in_addresses_[i];
    const socklen_t from_length = in_messages_[i].msg_hdr.msg_namelen;

    auto it = rooms_.find(name);
    if (it == rooms_.end()) it = rooms_.emplace(std::string(name), room{}).first;
    room& r = it->second;
    const address_key key = key_of(from);
    auto found = r.index.find(key);
    if (message_size > 0 && message[0] == 0) {  // leave
      ++stats_.leaves;
      if (found != r.index.end()) remove(r, found->second);
      return;
    }
    if (found == r.index.end()) {
      member m;
      std::memcpy(&m.address, &from, from_length);
      m.length = from_length;
      const std::string_view sender = token.substr(0, token.find('~'));
      m.header.push_back(static_cast<char>(sender.size()));
      m.header.append(sender);
      found = r.index.emplace(key, static_cast<std::uint32_t>(r.members.size())).first;
      r.members.push_back(std::move(m));
    }
    const std::uint32_t self = found->second;
    if (message_size == 0) {  // keepalive
      ++stats_.keepalives;
      queue(reinterpret_cast<const std::uint8_t*>(pong.data()), pong.size(), r.members[self]);
      return;
    }
    ++stats_.relayed_in;
    // The relayed datagram, built once: SenderNameSize | name | text.
    const std::string& header = r.members[self].header;
    if (header.size() + message_size > max_out) return;
    std::uint8_t* out = out_data_.data() + i * max_out;
    std::memcpy(out, header.data(), header.size());
    std::memcpy(out + header.size(), message, message_size);
    const std::size_t out_size = header.size() + message_size;
    for (std::uint32_t m = 0; m < r.members.size(); ++m) {
      if (m != self) queue(out, out_size, r.members[m]);
    }
  }

  void remove(room& r, std::uint32_t at) {
    r.index.erase(key_of(r.members[at].address));
    if (at + 1 != r.members.size()) {
      r.members[at] = std::move(r.members.back());
      r.index[key_of(r.members[at].address)] = at;
    }
    r.members.pop_back();
  }

  void queue(const std::uint8_t* data, std::size_t size, const member& to) {
    if (out_used_ == send_queue) flush();
    const std::size_t k = out_used_++;
    out_vectors_[k] = {const_cast<std::uint8_t*>(data), size};
    std::memcpy(&out_addresses_[k], &to.address, to.length);
    auto& h = out_messages_[k].msg_hdr;
    h = {};
    h.msg_name = &out_addresses_[k];
    h.msg_namelen = to.length;
    h.msg_iov = &out_vectors_[k];
    h.msg_iovlen = 1;
  }

  void flush() {
    std::size_t done = 0;
    while (done < out_used_) {
      if (!settings_.batching) {
        const auto& h = out_messages_[done].msg_hdr;
        if (::sendto(fd_, h.msg_iov->iov_base, h.msg_iov->iov_len, 0, static_cast<const sockaddr*>(h.msg_name),
                     h.msg_namelen) < 0) {
          ++stats_.send_errors;
        } else {
          ++stats_.sent;
        }
        ++done;
        continue;
      }
      const int n = ::sendmmsg(fd_, out_messages_.data() + done, static_cast<unsigned>(out_used_ - done), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        // The datagram at `done` failed (for example ECONNREFUSED from an earlier ICMP report):
        // count it and go on with the rest.
        ++stats_.send_errors;
        ++done;
        continue;
      }
      stats_.sent += static_cast<std::uint64_t>(n);
      done += static_cast<std::size_t>(n);
    }
    out_used_ = 0;
  }

  int fd_;
  settings settings_;
  std::unordered_map<std::string, room, text_hash, std::equal_to<>> rooms_;
  counters stats_;
  std::vector<std::uint8_t> in_data_;
  std::vector<iovec> in_vectors_;
  std::vector<mmsghdr> in_messages_;
  std::vector<sockaddr_storage> in_addresses_;
  std::vector<std::uint8_t> out_data_;
  std::vector<iovec> out_vectors_;
  std::vector<mmsghdr> out_messages_;
  std::vector<sockaddr_storage> out_addresses_;
  std::size_t out_used_ = 0;
};

bool parse_number(std::string_view text, auto& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

int usage(const char* why) {
  std::fprintf(stderr,
               "limit-relay: %s\nusage: limit-relay [--bind ADDR] [--port P] [--batch N] [--socket-buffer BYTES] "
               "[--flush N] [--no-batch]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--help" || arg == "-h") {
      usage("the reference relay for chat-bench");
      return 0;
    }
    if (arg == "--no-batch") {
      s.batching = false;
    } else if (arg == "--bind" && has_value) {
      s.bind = argv[++i];
    } else if (arg == "--port" && has_value) {
      if (!parse_number(argv[++i], s.port)) return usage("bad --port");
    } else if (arg == "--batch" && has_value) {
      if (!parse_number(argv[++i], s.batch) || s.batch < 1 || s.batch > 1024) return usage("--batch is 1..1024");
    } else if (arg == "--flush" && has_value) {
      if (!parse_number(argv[++i], s.flush_at) || s.flush_at < 1) return usage("bad --flush");
    } else if (arg == "--socket-buffer" && has_value) {
      if (!parse_number(argv[++i], s.socket_buffer) || s.socket_buffer < 0) return usage("bad --socket-buffer");
    } else {
      return usage(("unknown argument " + std::string(arg)).c_str());
    }
  }
  if (!s.batching) s.batch = 1;

  sockaddr_storage address{};
  socklen_t length = 0;
  int family = AF_INET;
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&address); ::inet_pton(AF_INET, s.bind.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(s.port);
    length = sizeof(sockaddr_in);
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
             ::inet_pton(AF_INET6, s.bind.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(s.port);
    length = sizeof(sockaddr_in6);
    family = AF_INET6;
  } else {
    return usage("--bind takes a numeric IPv4 or IPv6 address");
  }
  const int fd = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("limit-relay: socket");
    return 1;
  }
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &s.socket_buffer, sizeof s.socket_buffer);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &s.socket_buffer, sizeof s.socket_buffer);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::perror("limit-relay: bind");
    return 1;
  }
  const std::uint16_t port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&address)->sin_port
                                                     : reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);

  // No SA_RESTART: a signal interrupts the blocking receive, and the loop sees the request.
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);

  relay r(fd, s);
  const std::string shown = family == AF_INET ? s.bind : "[" + s.bind + "]";
  std::fprintf(stderr, "limit-relay listening udp=%s:%u batch=%zu flush=%zu%s\n", shown.c_str(),
               static_cast<unsigned>(port), s.batch, s.flush_at, s.batching ? "" : " (one syscall per datagram)");
  r.run();
  const auto& c = r.stats();
  std::fprintf(stderr,
               "limit-relay stopped: received=%llu relayed_in=%llu keepalives=%llu leaves=%llu malformed=%llu "
               "sent=%llu send_errors=%llu rooms=%zu members=%zu\n",
               static_cast<unsigned long long>(c.received), static_cast<unsigned long long>(c.relayed_in),
               static_cast<unsigned long long>(c.keepalives), static_cast<unsigned long long>(c.leaves),
               static_cast<unsigned long long>(c.malformed), static_cast<unsigned long long>(c.sent),
               static_cast<unsigned long long>(c.send_errors), r.rooms(), r.members());
  ::close(fd);
  return 0;
}
