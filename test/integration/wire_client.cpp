#include "wire_client.hpp"

#include "libchat/control.hpp"

#include "libchat/datagram.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace chat_test {
namespace {

// An IPv4 or (with a ':') IPv6 address and port.
struct socket_address {
  sockaddr_storage storage{};
  socklen_t size = 0;
  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

socket_address loopback(const std::string& ip, std::uint16_t port) {
  socket_address a;
  if (ip.find(':') != std::string::npos) {
    auto& v6 = reinterpret_cast<sockaddr_in6&>(a.storage);
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    if (::inet_pton(AF_INET6, ip.c_str(), &v6.sin6_addr) != 1) throw std::runtime_error("bad address " + ip);
    a.size = sizeof v6;
  } else {
    auto& v4 = reinterpret_cast<sockaddr_in&>(a.storage);
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    if (::inet_pton(AF_INET, ip.c_str(), &v4.sin_addr) != 1) throw std::runtime_error("bad address " + ip);
    a.size = sizeof v4;
  }
  return a;
}

bool wait_readable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

}  // namespace

std::vector<frame> tcrp_exchange(std::uint16_t port, const std::vector<std::uint8_t>& bytes,
                                 const std::string& source_ip, std::chrono::milliseconds timeout) {
  const auto source = loopback(source_ip, 0);
  // From an IPv6 source, to the server's IPv6 loopback (it must listen on :: or ::1).
  const auto server = loopback(source.family() == AF_INET6 ? "::1" : "127.0.0.1", port);
  const int fd = ::socket(source.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::bind(fd, source.get(), source.size) != 0 || ::connect(fd, server.get(), server.size) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot connect to the server");
  }
  if (!bytes.empty() && ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) < 0) {
    ::close(fd);
    throw std::runtime_error("send failed");
  }
  std::vector<std::uint8_t> in;
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !wait_readable(fd, left)) break;
    std::uint8_t buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.insert(in.end(), buf, buf + n);
  }
  ::close(fd);

  std::vector<frame> frames;
  std::size_t at = 0;
  while (in.size() - at >= libchat::tcrp_header_size) {
    const auto header =
        libchat::decode_header(std::span<const std::uint8_t, libchat::tcrp_header_size>(in.data() + at, 32));
    const std::size_t size = 32 + header.room_name_size + header.payload_size;
    if (in.size() - at < size) break;
    frame f;
    f.operation = header.operation;
    f.state = header.state;
    f.room.assign(reinterpret_cast<const char*>(in.data() + at + 32), header.room_name_size);
    f.payload.assign(reinterpret_cast<const char*>(in.data() + at + 32 + header.room_name_size), header.payload_size);
    frames.push_back(std::move(f));
    at += size;
  }
  return frames;
}

std::vector<std::uint8_t> request_bytes(libchat::operation op, const std::string& room, const std::string& username,
                                        const std::optional<std::string>& password) {
  return libchat::encode_frame(static_cast<std::uint8_t>(op), libchat::frame_state::request, room,
                               libchat::encode_room_request({username, password}));
}

handshake_result handshake(std::uint16_t port, libchat::operation op, const std::string& room,
                           const std::string& username, const std::optional<std::string>& password,
                           const std::string& source_ip) {
  handshake_result r;
  r.frames = tcrp_exchange(port, request_bytes(op, room, username, password), source_ip);
  for (const auto& f : r.frames) {
    if (f.state == 1) {
      auto response = libchat::parse_response(f.payload);
      if (response && std::holds_alternative<libchat::error_response>(*response))
        r.error = std::get<libchat::error_response>(*response);
    } else if (f.state == 2) {
      auto final = libchat::parse_final_response(f.payload);
      if (final && std::holds_alternative<libchat::completion_response>(*final))
        r.completion = std::get<libchat::completion_response>(*final);
      else if (final)
        r.error = std::get<libchat::error_response>(*final);
    }
  }
  return r;
}

udp_peer::udp_peer(std::uint16_t server_port, const std::string& ip) : server_port_(server_port) {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const auto local = loopback(ip, 0);
  if (::bind(fd_, local.get(), local.size) != 0) throw std::runtime_error("cannot bind UDP to " + ip);
}

udp_peer::~udp_peer() { close(); }

void udp_peer::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::uint16_t udp_peer::local_port() const {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

void udp_peer::send_raw(const std::vector<std::uint8_t>& datagram) {
  const auto server = loopback("127.0.0.1", server_port_);
  ::sendto(fd_, datagram.data(), datagram.size(), 0, server.get(), server.size);
}

void udp_peer::send(const std::string& room, const std::string& token, const std::string& message) {
  std::vector<std::uint8_t> out(2 + room.size() + token.size() + message.size());
  out[0] = static_cast<std::uint8_t>(room.size());
  out[1] = static_cast<std::uint8_t>(token.size());
  std::memcpy(out.data() + 2, room.data(), room.size());
  std::memcpy(out.data() + 2 + room.size(), token.data(), token.size());
  std::memcpy(out.data() + 2 + room.size() + token.size(), message.data(), message.size());
  send_raw(out);
}

std::optional<std::vector<std::uint8_t>> udp_peer::receive(std::chrono::milliseconds timeout) {
  if (!wait_readable(fd_, timeout)) return std::nullopt;
  std::vector<std::uint8_t> buf(65536);
  const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
  if (n < 0) return std::nullopt;
  buf.resize(static_cast<std::size_t>(n));
  return buf;
}

std::optional<std::pair<std::string, std::string>> udp_peer::receive_message(std::chrono::milliseconds timeout) {
  auto d = receive(timeout);
  if (!d) return std::nullopt;
  auto decoded = libchat::decode_server_datagram(*d);
  if (!decoded) throw std::runtime_error("malformed server datagram");
  return std::pair{std::string(decoded->sender), std::string(libchat::as_text(decoded->text))};
}

bool udp_peer::silent(std::chrono::milliseconds quiet) { return !wait_readable(fd_, quiet); }

member join_member(std::uint16_t tcp_port, std::uint16_t udp_port, libchat::operation op, const std::string& room,
                   const std::string& username, const std::optional<std::string>& password, const std::string& ip) {
  auto result = handshake(tcp_port, op, room, username, password, ip);
  if (!result.completion) throw std::runtime_error("handshake for " + username + " failed");
  member m{room, result.completion->token, std::make_unique<udp_peer>(udp_port, ip)};
  m.say("");  // keepalive: binds this address as the member's
  auto pong = m.udp->receive_message();
  if (!pong || pong->second != R"({"event":"pong"})") throw std::runtime_error("no pong for " + username);
  m.members = receive_members([&m] { return m.udp->receive_message(); });
  return m;
}

members_list receive_members(const message_source& next) {
  members_list list;
  for (;;) {
    auto got = next();
    if (!got) throw std::runtime_error("a part of the members notice did not arrive");
    if (!got->first.empty()) throw std::runtime_error("a chat message before the members notice: " + got->second);
    auto n = libchat::parse_notice(got->second);
    if (!n || n->event != libchat::notice_event::members)
      throw std::runtime_error("another notice before the members notice: " + got->second);
    if (n->part != list.part_sizes.size() + 1) throw std::runtime_error("members parts out of order");
    list.parts = n->parts;
    list.host = n->host;
    list.part_sizes.push_back(1 + got->second.size());
    list.users.insert(list.users.end(), n->users.begin(), n->users.end());
    if (n->part == n->parts) return list;
  }
}

libchat::public_key fetch_server_key(std::uint16_t port) {
  const auto frames = tcrp_exchange(
      port, libchat::encode_frame(static_cast<std::uint8_t>(libchat::operation::server_key),
                                  libchat::frame_state::request, "", ""));
  if (frames.size() != 1) throw std::runtime_error("no answer to operation 3");
  auto key = libchat::parse_server_key_response(frames[0].payload);
  if (!key) throw std::runtime_error("bad answer to operation 3: " + frames[0].payload);
  return *key;
}

void secure_member::say(const std::string& text) {
  std::array<std::uint8_t, libchat::max_client_datagram> out{};
  auto n = channel->seal_client_datagram(room, libchat::as_bytes(text), out);
  if (!n) throw std::runtime_error("cannot seal: " + n.error().message());
  udp->send_raw(std::vector<std::uint8_t>(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(*n)));
}

std::optional<std::pair<std::string, std::string>> secure_member::receive_message(std::chrono::milliseconds timeout) {
  auto d = udp->receive(timeout);
  if (!d) return std::nullopt;
  std::array<std::uint8_t, libchat::max_server_datagram> plain{};
  auto n = channel->open_server_datagram(*d, plain);
  if (!n) throw std::runtime_error("a datagram from the server did not open: " + n.error().message());
  auto decoded = libchat::decode_server_datagram(libchat::byte_view(plain.data(), *n));
  if (!decoded) throw std::runtime_error("malformed server datagram");
  return std::pair{std::string(decoded->sender), std::string(libchat::as_text(decoded->text))};
}

secure_result join_secure(std::uint16_t tcp_port, std::uint16_t udp_port, libchat::operation op,
                          const std::string& room, const std::string& username,
                          const std::optional<std::string>& password,
                          const std::optional<libchat::public_key>& server_key) {
  const auto key = server_key ? *server_key : fetch_server_key(tcp_port);
  libchat::client_handshake hs(key, static_cast<std::uint8_t>(op), room);
  secure_result r;
  r.request = libchat::encode_frame(static_cast<std::uint8_t>(op), libchat::frame_state::request, room,
                                    hs.seal_request({username, password, wall_now()}).value());
  r.frames = tcp_port ? tcrp_exchange(tcp_port, r.request) : std::vector<frame>{};
  std::optional<libchat::completion_response> done;
  for (const auto& f : r.frames) {
    if (f.state == 1) {
      auto response = hs.open_response(f.payload);
      if (!response) throw std::runtime_error("state 1 did not open: " + f.payload);
      if (auto* e = std::get_if<libchat::error_response>(&*response)) r.error = *e;
    } else if (f.state == 2) {
      auto completion = hs.open_completion(f.payload);
      if (!completion) throw std::runtime_error("state 2 did not open");
      if (auto* e = std::get_if<libchat::error_response>(&*completion)) r.error = *e;
      else done = std::get<libchat::completion_response>(*completion);
    }
  }
  if (!done) return r;
  r.token = done->token;
  if (!done->session) throw std::runtime_error("an encrypted completion without a session id");
  secure_member m{room, hs.channel(*done->session, done->key_datagrams.value_or(libchat::default_key_datagrams)),
                  std::make_unique<udp_peer>(udp_port), done->host};
  m.say("");
  auto pong = m.receive_message();
  if (!pong || pong->second != R"({"event":"pong"})") throw std::runtime_error("no pong for " + username);
  m.members = receive_members([&m] { return m.receive_message(); });
  r.member = std::move(m);
  return r;
}

}  // namespace chat_test
