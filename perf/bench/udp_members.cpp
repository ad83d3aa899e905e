#include "udp_members.hpp"

#include "clock.hpp"
#include "interrupt.hpp"

#include "libchat/datagram.hpp"
#include "libchat/handshake.hpp"
#include "libchat/tcrp.hpp"
#include "libchat/tcrp_reader.hpp"

#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <variant>

namespace chat_bench {
namespace {

constexpr std::size_t dummy_token_bytes = 32;
constexpr std::int64_t bind_retry_ns = 500 * ns_per_ms;
constexpr int bind_attempts = 20;
constexpr int handshake_attempts = 30;
constexpr std::size_t direct_binds_in_flight = 256;
constexpr std::uint64_t udp_tag = std::uint64_t{1} << 32;
// Replies from the server are small; this is the limit of what a client should accept.
constexpr std::size_t reply_payload_limit = 65536;

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

// Encrypted: the clear overhead of a sealed client datagram besides the room name
// (RoomNameSize, TokenSize, session id, counter, tag).
constexpr std::size_t sealed_overhead =
    2 + libchat::session_id_bytes + libchat::counter_bytes + libchat::aead_tag_bytes;
// Largest datagram a member may receive: a sealed server datagram around the largest plaintext one.
constexpr std::size_t largest_reply = libchat::sealed_server_size(libchat::max_server_datagram);

// A member's keepalive (an empty message) or control message, sealed for encrypted members.
// Returns the bytes to send, in `out` or in the member's own datagram.
std::span<const std::uint8_t> client_message(udp_member& m, std::string_view message, std::span<std::uint8_t> out) {
  if (m.channel) {
    const auto n = m.channel->seal_client_datagram(m.room_name, libchat::as_bytes(message), out);
    if (!n) return {};
    return out.first(*n);
  }
  if (message.empty()) return std::span<const std::uint8_t>(m.datagram.data(), m.text_at);
  if (m.text_at + message.size() > out.size()) return {};
  std::memcpy(out.data(), m.datagram.data(), m.text_at);
  std::memcpy(out.data() + m.text_at, message.data(), message.size());
  return out.first(m.text_at + message.size());
}

// A server → client datagram: a chat message to record or a notice.
void classify_reply(std::span<const std::uint8_t> bytes, const auto& on_text, const auto& on_notice,
                    const auto& on_malformed) {
  if (bytes.empty() || bytes.size() < 1u + bytes[0]) return on_malformed();
  const std::size_t name = bytes[0];
  const auto* text = reinterpret_cast<const char*>(bytes.data()) + 1 + name;
  const std::size_t length = bytes.size() - 1 - name;
  if (name == 0) return on_notice(std::string_view(text, length));
  on_text(std::span<const char>(text, length));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// udp_population

udp_population::udp_population(const shape& layout, const population_options& options)
    : layout_(layout), options_(options) {
  if (options_.text_bytes < stamp_bytes) throw std::runtime_error("message size below the stamp size");
  members_.resize(layout_.total());
  for (std::uint32_t r = 0; r < layout_.rooms; ++r) {
    for (std::uint32_t p = 0; p < layout_.members; ++p) {
      auto& m = members_[static_cast<std::size_t>(r) * layout_.members + p];
      m.id = r * layout_.members + p;
      m.room = r;
      m.position = p;
    }
  }
}

udp_population::~udp_population() {
  for (auto& m : members_) close_fd(m.fd);
}

std::string udp_population::room_name(std::uint32_t room) const {
  return options_.name_prefix + "r" + std::to_string(room);
}

std::string udp_population::user_name(std::uint32_t position) {
  return "u" + std::to_string(position);
}

void udp_population::build_datagram(udp_member& m) {
  if (m.channel) {
    // Sealed per send by the worker; only the room's name is the member's.
    m.room_name = room_name(m.room);
    if (sealed_overhead + m.room_name.size() + options_.text_bytes > libchat::max_client_datagram) {
      throw std::runtime_error("message too large for a sealed datagram (--size)");
    }
    return;
  }
  std::vector<char> text(options_.text_bytes);
  write_filler(text);
  write_stamp(stamp{}, text);
  const std::string room = room_name(m.room);
  m.datagram.resize(2 + room.size() + m.token.size() + text.size());
  const auto n =
      libchat::encode_client_datagram(room, m.token, libchat::as_bytes({text.data(), text.size()}), m.datagram);
  if (!n) throw std::runtime_error("message too large for a datagram (--size)");
  m.datagram.resize(*n);
  m.text_at = *n - text.size();
}

void udp_population::leave_all() {
  // The host's leave closes a chat-server room at once (one room_closed per member instead of a
  // left notice per member to every other member), so hosts go first.
  std::string leave(1, '\0');
  leave += R"({"type":"leave"})";
  std::array<std::uint8_t, libchat::max_client_datagram> buffer{};
  std::size_t sent = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (auto& m : members_) {
      if (m.fd < 0 || (pass == 0) != (m.position == 0)) continue;
      const auto out = client_message(m, leave, buffer);
      if (out.empty()) continue;
      [[maybe_unused]] const auto n = ::send(m.fd, out.data(), out.size(), MSG_DONTWAIT);
      // Paced (about 50,000/s) so that a busy target's receive buffer takes them all: a lost
      // leave would leave a member behind that times out later, in some other measurement.
      if (++sent % 64 == 0) ::usleep(1000);
    }
  }
  // Let the target take them in before the sockets close (and before the next set-up).
  ::usleep(200'000);
  for (auto& m : members_) close_fd(m.fd);
}

// ---------------------------------------------------------------------------------------------
// setup_driver: one epoll loop for the handshakes in flight and the members waiting for a pong.

class setup_driver {
 public:
  explicit setup_driver(udp_population& population) : pop_(population) {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw std::runtime_error(errno_text("epoll_create1"));
    deadline_ = now_ns() + pop_.options_.timeout_ns;
  }
  ~setup_driver() {
    for (auto& j : jobs_) close_fd(j.fd);
    close_fd(epoll_fd_);
  }

  void run_handshakes(const endpoint& tcp_server, const libchat::public_key* server_key) {
    tcp_server_ = tcp_server;
    for (const auto& node : pop_.options_.join_via) join_via_.push_back(parse_endpoint(node));
    for (const auto& node : pop_.options_.create_via) create_via_.push_back(parse_endpoint(node));
    handshaking_ = true;
    if (pop_.options_.encrypted) {
      if (!server_key) throw std::runtime_error("encrypted handshakes need the server's key");
      server_key_ = server_key;
      if (pop_.options_.handshake_rate > 0) pace_ns_ = static_cast<std::int64_t>(1e9 / pop_.options_.handshake_rate);
    }
    for (auto& m : pop_.members_) {
      if (m.position == 0) queue_.push_back({m.id, 0});
    }
    creates_left_ = pop_.layout_.rooms;
    loop();
  }

  void run_direct(const endpoint& udp_server) {
    udp_server_ = udp_server;
    local_ = any_port(udp_server);
    // The loopback address the kernel would pick is fine for a direct bind.
    for (auto& m : pop_.members_) {
      std::string token = udp_population::user_name(m.position) + "@" + std::to_string(m.room);
      if (token.size() < dummy_token_bytes) token.append(dummy_token_bytes - token.size(), '~');
      m.token = std::move(token);
      direct_queue_.push_back(m.id);
    }
    loop();
  }

 private:
  enum class stage { connecting, reading };
  struct job {
    int fd = -1;
    std::uint32_t member = 0;
    stage at = stage::connecting;
    std::optional<libchat::tcrp_reader> reader;
    std::vector<std::uint8_t> request;
    bool accepted = false;
    std::unique_ptr<libchat::client_handshake> secure;  ///< encrypted sessions
  };
  struct queued {
    std::uint32_t member;
    std::int64_t not_before;
  };

  bool finished() const { return bound_ == pop_.members_.size(); }

  void loop() {
    std::int64_t next_progress = now_ns() + ns_per_s;
    std::int64_t next_retry_scan = now_ns() + 100 * ns_per_ms;
    std::array<epoll_event, 256> events{};
    while (!finished()) {
      const std::int64_t now = now_ns();
      if (interrupted()) throw std::runtime_error("interrupted during set-up");
      if (now > deadline_) {
        throw std::runtime_error("set-up of " + pop_.options_.label + " timed out: " + status());
      }
      launch(now);
      if (now >= next_retry_scan) {
        resend_keepalives(now);
        next_retry_scan = now + 100 * ns_per_ms;
      }
      if (pop_.options_.progress && now >= next_progress) {
        std::fprintf(stderr, "setup %s: %s\n", pop_.options_.label.c_str(), status().c_str());
        next_progress = now + ns_per_s;
      }
      // Paced handshakes start on time even when nothing else happens.
      const int wait_ms = pace_ns_ > 0 && !queue_.empty() ? 1 : 20;
      const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), wait_ms);
      if (n < 0 && errno != EINTR) throw std::runtime_error(errno_text("epoll_wait"));
      for (int i = 0; i < n; ++i) {
        const std::uint64_t tag = events[static_cast<std::size_t>(i)].data.u64;
        if (tag & udp_tag) {
          on_udp(static_cast<std::uint32_t>(tag & 0xffffffffu));
        } else {
          on_tcp(static_cast<std::size_t>(tag), events[static_cast<std::size_t>(i)].events);
        }
      }
    }
    if (pop_.options_.progress) std::fprintf(stderr, "setup %s: %s\n", pop_.options_.label.c_str(), status().c_str());
  }

  std::string status() const {
    std::string s;
    if (handshaking_) {
      s += "handshakes " + std::to_string(handshakes_done_) + "/" + std::to_string(pop_.members_.size()) + " (" +
           std::to_string(busy_retries_) + " retries: busy or rate-limited), ";
    }
    s += "bound " + std::to_string(bound_) + "/" + std::to_string(pop_.members_.size());
    if (pop_.setup_open_failures_) s += ", " + std::to_string(pop_.setup_open_failures_) + " replies did not open";
    return s;
  }

  void launch(std::int64_t now) {
    if (handshaking_) {
      if (creates_left_ == 0 && !joins_queued_) {
        joins_queued_ = true;
        for (auto& m : pop_.members_) {
          if (m.position != 0) queue_.push_back({m.id, 0});
        }
      }
      std::size_t scanned = queue_.size();
      while (active_jobs_ < pop_.options_.handshake_concurrency && scanned-- > 0 && !queue_.empty()) {
        // Pacing: a start every pace_ns_, catching up at most 20 ms worth after a pause.
        if (pace_ns_ > 0 && next_start_ns_ > now) break;
        const queued q = queue_.front();
        queue_.pop_front();
        if (q.not_before > now) {
          queue_.push_back(q);
          continue;
        }
        if (pace_ns_ > 0) next_start_ns_ = std::max(next_start_ns_, now - 20 * ns_per_ms) + pace_ns_;
        start_handshake(q.member);
      }
    }
    while (!direct_queue_.empty() && binding_ < direct_binds_in_flight) {
      const std::uint32_t m = direct_queue_.front();
      direct_queue_.pop_front();
      start_bind(m, local_, udp_server_);
    }
  }

  void start_handshake(std::uint32_t member) {
    const auto& m = pop_.members_[member];
    // Cluster mode: a room's host creates it on the --connect node, or on the --create-via nodes
    // room by room; the others join through the --join-via nodes in turn (a join that does not
    // reach the room's node is forwarded there).
    const endpoint& node = m.position == 0
                               ? (create_via_.empty() ? tcp_server_ : create_via_[m.room % create_via_.size()])
                               : (join_via_.empty() ? tcp_server_ : join_via_[member % join_via_.size()]);
    const int fd = ::socket(node.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(errno_text("socket"));
    if (!pop_.options_.source_ip.empty()) {
      // The token is bound to this address, and the member's UDP socket will be too.
      const endpoint source = make_endpoint(pop_.options_.source_ip, 0);
      if (::bind(fd, source.get(), source.length) != 0) {
        ::close(fd);
        throw std::runtime_error(errno_text(("bind to --source-ip " + pop_.options_.source_ip).c_str()));
      }
    }
    if (::connect(fd, node.get(), node.length) != 0 && errno != EINPROGRESS) {
      ::close(fd);
      return retry(member, "connect failed");
    }
    std::size_t slot = 0;
    if (!free_slots_.empty()) {
      slot = free_slots_.back();
      free_slots_.pop_back();
    } else {
      slot = jobs_.size();
      jobs_.emplace_back();
    }
    job& j = jobs_[slot];
    j = job{};
    j.fd = fd;
    j.member = member;
    const auto op = m.position == 0 ? libchat::operation::create_room : libchat::operation::join_room;
    const std::string room = pop_.room_name(m.room);
    const libchat::room_request request{udp_population::user_name(m.position),
                                        {},
                                        std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())};
    if (server_key_) {
      // The operation and the room are bound into the transcript: a fresh handshake per attempt.
      j.secure = std::make_unique<libchat::client_handshake>(*server_key_, static_cast<std::uint8_t>(op), room);
      j.request = libchat::encode_frame(static_cast<std::uint8_t>(op), libchat::frame_state::request, room,
                                        j.secure->seal_request(request).value());
    } else {
      j.request = libchat::encode_frame(static_cast<std::uint8_t>(op), libchat::frame_state::request, room,
                                        libchat::encode_room_request(request));
    }
    j.reader.emplace(libchat::tcrp_direction::to_client, reply_payload_limit);
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u64 = slot;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    ++active_jobs_;
  }

  void finish_job(std::size_t slot) {
    job& j = jobs_[slot];
    close_fd(j.fd);  // closing also removes it from the epoll set
    j.reader.reset();
    j.secure.reset();
    free_slots_.push_back(slot);
    --active_jobs_;
  }

  void retry(std::uint32_t member, const char* why) {
    if (++attempts_[member] > handshake_attempts) {
      throw std::runtime_error("handshake for " + describe(member) + " kept failing: " + why);
    }
    ++busy_retries_;
    const std::int64_t backoff = std::min<std::int64_t>(50 * ns_per_ms * attempts_[member], ns_per_s);
    queue_.push_back({member, now_ns() + backoff});
  }

  std::string describe(std::uint32_t member) const {
    const auto& m = pop_.members_[member];
    return "'" + udp_population::user_name(m.position) + "' in room '" + pop_.room_name(m.room) + "'";
  }

  void on_tcp(std::size_t slot, std::uint32_t events) {
    job& j = jobs_[slot];
    if (j.fd < 0) return;
    if (j.at == stage::connecting) {
      int error = 0;
      socklen_t len = sizeof error;
      ::getsockopt(j.fd, SOL_SOCKET, SO_ERROR, &error, &len);
      if (error != 0) {
        const auto member = j.member;
        finish_job(slot);
        return retry(member, "connection refused");
      }
      if (!(events & EPOLLOUT)) return;
      // The request is a few dozen bytes: one send takes it into an empty socket buffer.
      const ssize_t n = ::send(j.fd, j.request.data(), j.request.size(), MSG_NOSIGNAL);
      if (n != static_cast<ssize_t>(j.request.size())) {
        const auto member = j.member;
        finish_job(slot);
        return retry(member, "request not sent");
      }
      j.at = stage::reading;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = slot;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, j.fd, &ev);
    }
    read_replies(slot);
  }

  void read_replies(std::size_t slot) {
    job& j = jobs_[slot];
    bool eof = false;
    for (;;) {
      auto space = j.reader->prepare();
      if (space.empty()) {
        if (!handle_frame(slot)) return;  // the job is finished
        continue;
      }
      const ssize_t n = ::recv(j.fd, space.data(), space.size(), 0);
      if (n > 0) {
        j.reader->commit(static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) eof = true;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      break;
    }
    if (j.reader->state() == libchat::tcrp_reader::status::failed) {
      throw std::runtime_error("malformed reply to the handshake of " + describe(j.member) + ": " +
                               j.reader->error().message());
    }
    // Closed without a (complete) reply: the server was far past its handshake bound.
    const auto member = j.member;
    finish_job(slot);
    retry(member, eof ? "closed without a reply" : "read failed");
  }

  // Returns false once the job is finished (success or retry), true to read on.
  bool handle_frame(std::size_t slot) {
    job& j = jobs_[slot];
    if (j.reader->state() == libchat::tcrp_reader::status::failed) {
      throw std::runtime_error("malformed reply to the handshake of " + describe(j.member) + ": " +
                               j.reader->error().message());
    }
    const auto state = static_cast<libchat::frame_state>(j.reader->header()->state);
    const std::string payload(j.reader->payload());
    const auto member = j.member;
    if (state == libchat::frame_state::response) {
      auto parsed = j.secure ? j.secure->open_response(payload) : libchat::parse_response(payload);
      if (!parsed) {
        throw std::runtime_error(std::string(j.secure ? "a response that did not open" : "unreadable response") +
                                 " for " + describe(member) + ": " + parsed.error().message());
      }
      if (auto* error = std::get_if<libchat::error_response>(&*parsed)) {
        finish_job(slot);
        return refused(member, *error);
      }
      j.accepted = true;
      j.reader.emplace(libchat::tcrp_direction::to_client, reply_payload_limit);
      return true;
    }
    auto parsed = j.secure ? j.secure->open_completion(payload) : libchat::parse_final_response(payload);
    if (!parsed) {
      throw std::runtime_error(std::string(j.secure ? "a completion that did not open" : "unreadable completion") +
                               " for " + describe(member) + ": " + parsed.error().message());
    }
    if (auto* error = std::get_if<libchat::error_response>(&*parsed)) {
      finish_job(slot);
      return refused(member, *error);
    }
    const auto& done = std::get<libchat::completion_response>(*parsed);
    auto& m = pop_.members_[member];
    if (j.secure) {
      if (!done.session)
        throw std::runtime_error("an encrypted completion without a session id for " + describe(member));
      m.channel = j.secure->channel(*done.session);
    } else {
      m.token = done.token;
    }
    // The token is bound to the IP address of the TCP connection: bind the UDP socket to it.
    endpoint local;
    local.length = sizeof local.address;
    ::getsockname(j.fd, reinterpret_cast<sockaddr*>(&local.address), &local.length);
    finish_job(slot);
    ++handshakes_done_;
    if (m.position == 0) --creates_left_;
    // Datagrams go to the room's node: the completion's udp_host (cluster mode), else the server.
    start_bind(member, any_port(local),
               done.udp_host ? make_endpoint(*done.udp_host, done.udp_port) : tcp_server_.with_port(done.udp_port));
    return false;
  }

  bool refused(std::uint32_t member, const libchat::error_response& error) {
    // Busy, or over a rate limit (a server that limits joins per room or handshakes per address):
    // try again later. (By name: an older libchat does not know the rate_limited code.)
    const auto name = libchat::wire_name(error.error);
    if (error.error == libchat::tcrp_error::server_busy || name == "rate_limited") {
      retry(member, name == "rate_limited" ? "rate_limited" : "server_busy");
      return false;
    }
    throw std::runtime_error("handshake for " + describe(member) +
                             " refused: " + std::string(libchat::wire_name(error.error)) + ": " + error.message);
  }

  void start_bind(std::uint32_t member, const endpoint& local, const endpoint& server) {
    auto& m = pop_.members_[member];
    m.fd = ::socket(server.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (m.fd < 0) throw std::runtime_error(errno_text("socket (raise ulimit -n?)"));
    if (::bind(m.fd, local.get(), local.length) != 0 || ::connect(m.fd, server.get(), server.length) != 0) {
      throw std::runtime_error(errno_text("UDP bind/connect"));
    }
    pop_.build_datagram(m);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = udp_tag | member;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, m.fd, &ev);
    waiting_.push_back({member, now_ns() + bind_retry_ns});
    ++binding_;
    bind_attempts_[member] = 1;
    send_keepalive(m);
  }

  void send_keepalive(udp_member& m) {
    const auto out = client_message(m, {}, send_buffer_);
    [[maybe_unused]] const auto n = ::send(m.fd, out.data(), out.size(), MSG_DONTWAIT);
  }

  void resend_keepalives(std::int64_t now) {
    for (auto& w : waiting_) {
      auto& m = pop_.members_[w.member];
      if (m.bound || w.not_before > now) continue;
      if (++bind_attempts_[w.member] > bind_attempts) {
        throw std::runtime_error("no pong for " + describe(w.member) + " after " + std::to_string(bind_attempts) +
                                 " keepalives");
      }
      send_keepalive(m);
      w.not_before = now + bind_retry_ns;
    }
    std::erase_if(waiting_, [this](const queued& w) { return pop_.members_[w.member].bound; });
  }

  void on_udp(std::uint32_t member) {
    auto& m = pop_.members_[member];
    std::array<std::uint8_t, largest_reply + 2> buf{};
    std::array<std::uint8_t, largest_reply> plain{};
    for (int i = 0; i < 64; ++i) {
      const ssize_t n = ::recv(m.fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n < 0) return;
      std::span<const std::uint8_t> reply(buf.data(), static_cast<std::size_t>(n));
      if (m.channel) {
        const auto opened = m.channel->open_server_datagram(reply, plain);
        if (!opened) {
          ++pop_.setup_open_failures_;
          continue;
        }
        reply = std::span<const std::uint8_t>(plain.data(), *opened);
      }
      classify_reply(
          reply, [](std::span<const char>) {},
          [&](std::string_view notice) {
            if (!m.bound && notice.find("\"pong\"") != std::string_view::npos) {
              m.bound = true;
              ++bound_;
              --binding_;
            }
          },
          [] {});
    }
  }

  udp_population& pop_;
  const libchat::public_key* server_key_ = nullptr;  ///< encrypted sessions
  std::int64_t pace_ns_ = 0;                         ///< between two encrypted handshakes
  std::int64_t next_start_ns_ = 0;
  std::array<std::uint8_t, libchat::max_client_datagram> send_buffer_{};
  int epoll_fd_ = -1;
  std::int64_t deadline_ = 0;
  endpoint tcp_server_;
  std::vector<endpoint> join_via_;
  std::vector<endpoint> create_via_;
  endpoint udp_server_;
  endpoint local_;
  bool handshaking_ = false;
  std::deque<queued> queue_;
  std::deque<std::uint32_t> direct_queue_;
  std::uint32_t creates_left_ = 0;
  bool joins_queued_ = false;
  std::vector<job> jobs_;
  std::vector<std::size_t> free_slots_;
  std::size_t active_jobs_ = 0;
  std::vector<queued> waiting_;
  std::size_t binding_ = 0;
  std::size_t bound_ = 0;
  std::size_t handshakes_done_ = 0;
  std::size_t busy_retries_ = 0;
  std::unordered_map<std::uint32_t, int> attempts_;
  std::unordered_map<std::uint32_t, int> bind_attempts_;
};

void udp_population::handshake_and_bind(const endpoint& tcp_server, const libchat::public_key* server_key) {
  setup_driver driver(*this);
  driver.run_handshakes(tcp_server, server_key);
}

libchat::public_key fetch_server_key(const endpoint& tcp_server, std::chrono::milliseconds timeout) {
  struct socket_guard {
    int fd;
    ~socket_guard() { close_fd(fd); }
  } guard{::socket(tcp_server.family(), SOCK_STREAM | SOCK_CLOEXEC, 0)};
  const int fd = guard.fd;
  if (fd < 0) throw std::runtime_error(errno_text("socket"));
  if (::connect(fd, tcp_server.get(), tcp_server.length) != 0) {
    throw std::runtime_error(errno_text(("connect to " + tcp_server.to_string()).c_str()));
  }
  const auto request = libchat::encode_frame(static_cast<std::uint8_t>(libchat::operation::server_key),
                                             libchat::frame_state::request, "", "");
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    throw std::runtime_error(errno_text("send (operation 3)"));
  }
  libchat::tcrp_reader reader(libchat::tcrp_direction::to_client, reply_payload_limit);
  const std::int64_t deadline = now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
  for (;;) {
    auto space = reader.prepare();
    if (space.empty()) break;  // a whole frame, or a failure
    const std::int64_t left_ms = (deadline - now_ns()) / ns_per_ms;
    pollfd p{fd, POLLIN, 0};
    if (left_ms <= 0 || ::poll(&p, 1, static_cast<int>(left_ms)) <= 0) {
      throw std::runtime_error("no answer to operation 3 (the server's key) from " + tcp_server.to_string());
    }
    const ssize_t n = ::recv(fd, space.data(), space.size(), 0);
    if (n <= 0) throw std::runtime_error("the server closed without its key (operation 3)");
    reader.commit(static_cast<std::size_t>(n));
  }
  if (reader.state() == libchat::tcrp_reader::status::failed) {
    throw std::runtime_error("malformed answer to operation 3: " + reader.error().message());
  }
  auto key = libchat::parse_server_key_response(reader.payload());
  if (!key) throw std::runtime_error("bad answer to operation 3: " + std::string(reader.payload()).substr(0, 200));
  return *key;
}

void udp_population::bind_direct(const endpoint& udp_server) {
  setup_driver driver(*this);
  driver.run_direct(udp_server);
}

// ---------------------------------------------------------------------------------------------
// udp_worker

namespace {
constexpr std::size_t receive_batch = 16;
constexpr std::size_t receive_bytes = largest_reply + 2;
constexpr std::uint32_t wake_tag = 0xffffffffu;
}  // namespace

struct udp_worker::buffers {
  std::array<std::array<std::uint8_t, receive_bytes>, receive_batch> data{};
  std::array<iovec, receive_batch> vectors{};
  std::array<mmsghdr, receive_batch> messages{};
  std::array<epoll_event, 256> events{};
  // Encrypted members: the chat text (filler, then the stamp of each send), the sealed datagram
  // going out, and the opened one coming in. One set per worker, reused for every datagram.
  std::vector<char> text;
  std::array<std::uint8_t, libchat::max_client_datagram> sealed{};
  std::array<std::uint8_t, largest_reply> opened{};
};

udp_worker::udp_worker(std::size_t index, std::size_t count, std::int64_t keepalive_ns,
                       std::vector<udp_member*> members, std::size_t text_bytes)
    : load_worker(index, count, keepalive_ns), members_(std::move(members)), buffers_(std::make_unique<buffers>()) {
  buffers_->text.resize(std::max(text_bytes, stamp_bytes));
  write_filler(buffers_->text);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::runtime_error(errno_text("epoll_create1"));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = wake_tag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd(), &ev);
  for (std::size_t i = 0; i < members_.size(); ++i) {
    ev.data.u32 = static_cast<std::uint32_t>(i);
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, members_[i]->fd, &ev) != 0) {
      throw std::runtime_error(errno_text("epoll_ctl"));
    }
    member_ids_.push_back(members_[i]->id);
  }
  for (std::size_t i = 0; i < receive_batch; ++i) {
    buffers_->vectors[i] = {buffers_->data[i].data(), buffers_->data[i].size()};
    buffers_->messages[i].msg_hdr.msg_iov = &buffers_->vectors[i];
    buffers_->messages[i].msg_hdr.msg_iovlen = 1;
  }
}

udp_worker::~udp_worker() {
  stop();
  close_fd(epoll_fd_);
}

void udp_worker::wait_and_receive(std::int64_t timeout_ns) {
  const timespec timeout{static_cast<time_t>(timeout_ns / ns_per_s), static_cast<long>(timeout_ns % ns_per_s)};
  auto& events = buffers_->events;
  const int n = ::epoll_pwait2(epoll_fd_, events.data(), static_cast<int>(events.size()), &timeout, nullptr);
  for (int i = 0; i < n; ++i) {
    const std::uint32_t tag = events[static_cast<std::size_t>(i)].data.u32;
    if (tag == wake_tag) {
      drain_wake();
    } else {
      receive_from(tag);
    }
  }
}

void udp_worker::receive_from(std::size_t m) {
  auto& b = *buffers_;
  // Level-triggered: one batch per wake-up; what is left makes the socket ready again.
  const int got = ::recvmmsg(members_[m]->fd, b.messages.data(), receive_batch, MSG_DONTWAIT, nullptr);
  if (got <= 0) return;
  const std::int64_t now = now_ns();
  record_received(static_cast<std::size_t>(got));
  auto& member = *members_[m];
  for (std::size_t i = 0; i < static_cast<std::size_t>(got); ++i) {
    std::span<const std::uint8_t> datagram(b.data[i].data(), b.messages[i].msg_len);
    if (member.channel) {
      // A datagram that does not open is lost (it counts for loss) and counted apart.
      const auto opened = member.channel->open_server_datagram(datagram, b.opened);
      if (!opened) {
        record_open_failure();
        continue;
      }
      datagram = std::span<const std::uint8_t>(b.opened.data(), *opened);
    }
    classify_reply(
        datagram, [&](std::span<const char> text) { record_text(text, now); },
        [&](std::string_view notice) { record_notice(notice); }, [&] { record_malformed(); });
  }
}

bool udp_worker::send_chat(std::size_t m, const stamp& s) {
  auto& member = *members_[m];
  if (member.channel) {
    auto& b = *buffers_;
    write_stamp(s, b.text);
    const auto n = member.channel->seal_client_datagram(member.room_name,
                                                        libchat::as_bytes({b.text.data(), b.text.size()}), b.sealed);
    return n && ::send(member.fd, b.sealed.data(), *n, MSG_DONTWAIT) >= 0;
  }
  write_stamp(s, std::span<char>(reinterpret_cast<char*>(member.datagram.data() + member.text_at), stamp_bytes));
  return ::send(member.fd, member.datagram.data(), member.datagram.size(), MSG_DONTWAIT) >= 0;
}

bool udp_worker::send_keepalive(std::size_t m) {
  auto& member = *members_[m];
  const auto out = client_message(member, {}, buffers_->sealed);
  return !out.empty() && ::send(member.fd, out.data(), out.size(), MSG_DONTWAIT) >= 0;
}

}  // namespace chat_bench
