#include "mqtt_members.hpp"

#include "clock.hpp"
#include "interrupt.hpp"

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace chat_bench {
namespace {

constexpr std::uint32_t wake_tag = 0xffffffffu;
constexpr int mqtt_keepalive_s = 60;
// Packets read per ready socket before the next socket gets its turn.
constexpr int reads_per_wakeup = 64;

void on_connect(mosquitto* client, void* obj, int rc) {
  auto* m = static_cast<mqtt_member*>(obj);
  if (rc != 0) {
    m->lost = true;
    return;
  }
  m->connected = true;
  ++m->packets;
  mosquitto_subscribe_v5(client, nullptr, m->topic.c_str(), 0, MQTT_SUB_OPT_NO_LOCAL, nullptr);
}

void on_subscribe(mosquitto*, void* obj, int, int count, const int* granted) {
  auto* m = static_cast<mqtt_member*>(obj);
  if (count < 1 || granted[0] >= 0x80) {
    m->lost = true;
    return;
  }
  m->subscribed = true;
  ++m->packets;
}

void on_disconnect(mosquitto*, void* obj, int) { static_cast<mqtt_member*>(obj)->lost = true; }

void on_message(mosquitto*, void* obj, const mosquitto_message* message) {
  auto* m = static_cast<mqtt_member*>(obj);
  ++m->packets;
  if (m->worker) m->worker->on_message(message->payload, message->payloadlen);
}

std::string numeric_host(const endpoint& e) {
  char host[INET6_ADDRSTRLEN] = {};
  if (e.family() == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&e.address)->sin_addr, host, sizeof host);
  } else {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&e.address)->sin6_addr, host, sizeof host);
  }
  return host;
}

void set_interest(int epoll_fd, mqtt_member& m, std::uint32_t tag, int op) {
  epoll_event ev{};
  ev.events = EPOLLIN | (m.out_armed ? EPOLLOUT : 0u);
  ev.data.u32 = tag;
  ::epoll_ctl(epoll_fd, op, m.fd, &ev);
}

// Reads what the socket holds, packet by packet: libmosquitto reads one packet per call, in three
// reads (type, length, body). A call that completes no packet found the socket empty (or a packet
// cut short, whose rest will make the socket ready again), so the loop stops there.
bool read_packets(mqtt_member& m) {
  for (int i = 0; i < reads_per_wakeup; ++i) {
    const std::uint64_t before = m.packets;
    if (mosquitto_loop_read(m.client, 1) != MOSQ_ERR_SUCCESS) {
      m.lost = true;
      return false;
    }
    if (m.packets == before) break;
  }
  return true;
}

}  // namespace

void mqtt_library_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    mosquitto_lib_init();
    std::atexit([] { mosquitto_lib_cleanup(); });
  });
}

mqtt_population::mqtt_population(const shape& layout, const population_options& options)
    : layout_(layout), options_(options) {
  mqtt_library_init();
  members_.resize(layout_.total());
  for (std::uint32_t r = 0; r < layout_.rooms; ++r) {
    for (std::uint32_t p = 0; p < layout_.members; ++p) {
      auto& m = members_[static_cast<std::size_t>(r) * layout_.members + p];
      m.id = r * layout_.members + p;
      m.room = r;
      m.position = p;
      m.topic = options_.name_prefix + "r" + std::to_string(r);
      m.text.resize(options_.text_bytes);
      write_filler(m.text);
    }
  }
}

mqtt_population::~mqtt_population() {
  for (auto& m : members_) {
    if (!m.client) continue;
    if (m.connected && !m.lost) mosquitto_disconnect(m.client);
    mosquitto_destroy(m.client);
  }
}

void mqtt_population::connect_and_subscribe(const endpoint& broker) {
  const std::string host = numeric_host(broker);
  const int port = broker.port();
  const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) throw std::runtime_error("epoll_create1 failed");
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } close_epoll{epoll_fd};

  const std::int64_t deadline = now_ns() + options_.timeout_ns;
  std::int64_t next_progress = now_ns() + ns_per_s;
  std::size_t next = 0;
  std::size_t subscribed = 0;
  std::array<epoll_event, 256> events{};
  auto status = [&] {
    return "connected " + std::to_string(next) + "/" + std::to_string(members_.size()) + ", subscribed " +
           std::to_string(subscribed) + "/" + std::to_string(members_.size());
  };
  while (subscribed < members_.size()) {
    const std::int64_t now = now_ns();
    if (interrupted()) throw std::runtime_error("interrupted during set-up");
    if (now > deadline) throw std::runtime_error("set-up of " + options_.label + " timed out: " + status());
    if (options_.progress && now >= next_progress) {
      std::fprintf(stderr, "setup %s: %s\n", options_.label.c_str(), status().c_str());
      next_progress = now + ns_per_s;
    }
    while (next < members_.size() && next - subscribed < options_.handshake_concurrency) {
      auto& m = members_[next];
      const std::string id = options_.name_prefix + "c" + std::to_string(m.id);
      m.client = mosquitto_new(id.c_str(), true, &m);
      if (!m.client) throw std::runtime_error("mosquitto_new failed");
      mosquitto_int_option(m.client, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
      mosquitto_int_option(m.client, MOSQ_OPT_TCP_NODELAY, 1);
      mosquitto_connect_callback_set(m.client, on_connect);
      mosquitto_subscribe_callback_set(m.client, on_subscribe);
      mosquitto_disconnect_callback_set(m.client, on_disconnect);
      mosquitto_message_callback_set(m.client, on_message);
      // A blocking connect: on loopback it completes at once. The socket is non-blocking after.
      const int rc = mosquitto_connect(m.client, host.c_str(), port, mqtt_keepalive_s);
      if (rc != MOSQ_ERR_SUCCESS) {
        throw std::runtime_error("MQTT connect of client " + std::to_string(m.id) + " failed: " +
                                 mosquitto_strerror(rc) + " (raise ulimit -n?)");
      }
      m.fd = mosquitto_socket(m.client);
      ::fcntl(m.fd, F_SETFL, ::fcntl(m.fd, F_GETFL) | O_NONBLOCK);
      m.out_armed = mosquitto_want_write(m.client);
      set_interest(epoll_fd, m, static_cast<std::uint32_t>(next), EPOLL_CTL_ADD);
      ++next;
    }
    const int n = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), 20);
    for (int i = 0; i < n; ++i) {
      const auto& ev = events[static_cast<std::size_t>(i)];
      auto& m = members_[ev.data.u32];
      const bool was = m.subscribed;
      if (ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_packets(m);
      if (ev.events & EPOLLOUT) mosquitto_loop_write(m.client, 1);
      if (m.lost) throw std::runtime_error("the broker refused or dropped MQTT client " + std::to_string(m.id));
      if (!was && m.subscribed) ++subscribed;
      const bool want = mosquitto_want_write(m.client);
      if (want != m.out_armed) {
        m.out_armed = want;
        set_interest(epoll_fd, m, ev.data.u32, EPOLL_CTL_MOD);
      }
    }
  }
  if (options_.progress) std::fprintf(stderr, "setup %s: %s\n", options_.label.c_str(), status().c_str());
}

mqtt_worker::mqtt_worker(std::size_t index, std::size_t count, std::vector<mqtt_member*> members)
    : load_worker(index, count, std::int64_t{3600} * ns_per_s), members_(std::move(members)) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::runtime_error("epoll_create1 failed");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = wake_tag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd(), &ev);
  for (std::size_t i = 0; i < members_.size(); ++i) {
    auto& m = *members_[i];
    m.worker = this;
    m.out_armed = mosquitto_want_write(m.client);
    set_interest(epoll_fd_, m, static_cast<std::uint32_t>(i), EPOLL_CTL_ADD);
    member_ids_.push_back(m.id);
  }
}

mqtt_worker::~mqtt_worker() {
  stop();
  for (auto* m : members_) m->worker = nullptr;
  close_fd(epoll_fd_);
}

void mqtt_worker::on_message(const void* payload, int length) noexcept {
  record_received(1);
  record_text(std::span<const char>(static_cast<const char*>(payload), static_cast<std::size_t>(std::max(length, 0))),
              now_);
}

void mqtt_worker::update_interest(std::size_t m) {
  auto& member = *members_[m];
  const bool want = mosquitto_want_write(member.client);
  if (want == member.out_armed) return;
  member.out_armed = want;
  set_interest(epoll_fd_, member, static_cast<std::uint32_t>(m), EPOLL_CTL_MOD);
}

void mqtt_worker::read_all(std::size_t m) {
  auto& member = *members_[m];
  if (member.lost) return;
  now_ = now_ns();
  if (!read_packets(member)) {
    ++lost_;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, member.fd, nullptr);
  }
}

void mqtt_worker::wait_and_receive(std::int64_t timeout_ns) {
  const timespec timeout{static_cast<time_t>(timeout_ns / ns_per_s), static_cast<long>(timeout_ns % ns_per_s)};
  std::array<epoll_event, 256> events{};
  const int n = ::epoll_pwait2(epoll_fd_, events.data(), static_cast<int>(events.size()), &timeout, nullptr);
  for (int i = 0; i < n; ++i) {
    const auto& ev = events[static_cast<std::size_t>(i)];
    if (ev.data.u32 == wake_tag) {
      drain_wake();
      continue;
    }
    const std::size_t m = ev.data.u32;
    if (ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_all(m);
    if ((ev.events & EPOLLOUT) && !members_[m]->lost) mosquitto_loop_write(members_[m]->client, 1);
    if (!members_[m]->lost) update_interest(m);
  }
}

bool mqtt_worker::send_chat(std::size_t m, const stamp& s) {
  auto& member = *members_[m];
  if (member.lost) return false;
  write_stamp(s, member.text);
  const int rc = mosquitto_publish(member.client, nullptr, member.topic.c_str(), static_cast<int>(member.text.size()),
                                   member.text.data(), 0, false);
  update_interest(m);
  return rc == MOSQ_ERR_SUCCESS;
}

void mqtt_worker::housekeeping(std::int64_t) {
  for (std::size_t m = 0; m < members_.size(); ++m) {
    if (members_[m]->lost) continue;
    mosquitto_loop_misc(members_[m]->client);
    update_interest(m);
  }
}

}  // namespace chat_bench
