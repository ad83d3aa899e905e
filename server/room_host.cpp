#include "room_host.hpp"

#include "address_gate.hpp"
#include "cluster/cluster_node.hpp"
#include "datagram_slot.hpp"
#include "room_table.hpp"
#include "send_batch.hpp"
#include "udp_sender.hpp"

#include <spdlog/spdlog.h>

namespace chat_server {

namespace {
libchat::time_point now() { return std::chrono::steady_clock::now(); }
}  // namespace

// Applies a room's outputs: datagrams go to the shared send path, events to the log, the
// members gauge and the address index.
class room_host::output final : public libchat::room_output {
 public:
  /// `via`: the socket to send through (the one the causing datagram came in on, else the first).
  output(room_host& host, udp_sender& via) : host_(host), via_(via) {}
  explicit output(room_host& host) : output(host, host.services_.sender) {}

  ~output() { send_batch::local().flush(); }

  void send(const libchat::peer_address& to, libchat::byte_view datagram) override {
    send_batch::local().add(via_, to, datagram);
  }

  void on_event(const libchat::room_event& e) override {
    using kind = libchat::room_event::kind;
    auto& services = host_.services_;
    auto& log = services.log;
    switch (e.what) {
      case kind::admitted:
        services.members.fetch_add(1, std::memory_order_relaxed);
        log.info("room '{}': token issued to '{}'", e.room, e.username);
        return;
      case kind::joined:
        // A joined member's deadline becomes now + inactivity timeout, which can be earlier than
        // its token's (a short --inactivity-timeout): the timer must be looked at again.
        host_.deadline_may_be_earlier_ = true;
        services.rooms.bind_endpoint(e.endpoint, host_.shared_from_this());
        log.info("room '{}': '{}' joined from {}", e.room, e.username, e.endpoint.to_string());
        return;
      case kind::roamed:
        // The ICMP reports about the new port must find this room; the old port is not ours any more.
        services.rooms.unbind_endpoint(e.previous, &host_);
        services.rooms.bind_endpoint(e.endpoint, host_.shared_from_this());
        log.info("room '{}': '{}' moved from {} to {}", e.room, e.username, e.previous.to_string(),
                 e.endpoint.to_string());
        return;
      case kind::left:
      case kind::timed_out:
      case kind::unreachable:
      case kind::token_expired:
      case kind::evicted:
        services.members.fetch_sub(1, std::memory_order_relaxed);
        if (host_.published()) services.gate.release(libchat::address_resource::token, e.ip);
        if (e.joined) services.rooms.unbind_endpoint(e.endpoint, &host_);
        if (e.what == kind::evicted) {
          log.debug("room '{}': '{}' removed with the room", e.room, e.username);
        } else {
          log.info("room '{}': '{}' {}", e.room, e.username,
                   e.what == kind::left          ? "left"
                   : e.what == kind::timed_out   ? "timed out"
                   : e.what == kind::unreachable ? "removed: address unreachable"
                                                 : "never joined: token expired");
        }
        return;
      case kind::closed:
        // The name is free again at once: out of the table before anyone can read this line.
        host_.remove_from_table();
        if (host_.published()) services.gate.release(libchat::address_resource::room, host_.host_ip_);
        log.info("room '{}' closed ({})", e.room, e.reason);
        return;
      case kind::shut_down:
        if (host_.published()) services.gate.release(libchat::address_resource::room, host_.host_ip_);
        log.debug("room '{}' shut down", e.room);
        return;
    }
  }

 private:
  room_host& host_;
  udp_sender& via_;
};

room_host::room_host(room_services& services, std::string name, std::optional<libchat::password_hash> password,
                     const libchat::ip_address& host_ip)
    : services_(services),
      name_(name),
      host_ip_(host_ip),
      password_(password),
      strand_(boost::asio::make_strand(services.io)),
      timer_(strand_),
      room_(std::move(name), std::move(password), services.limits) {}

boost::system::result<libchat::issued_token> room_host::admit(std::string_view username,
                                                              const libchat::ip_address& ip,
                                                              const libchat::channel_maker& make_channel) {
  output out(*this);
  auto issued = room_.admit(username, ip, now(), out, make_channel);
  after_change();
  return issued;
}

std::optional<libchat::errc> room_host::may_admit() {
  return room_.may_admit(now());
}

void room_host::on_datagram(const datagram_slot& slot) {
  output out(*this, slot.via ? *slot.via : services_.sender);
  const auto outcome = room_.on_datagram(slot.decoded, slot.from, now(), out);
  services_.stats.outcome(outcome);
  // Most datagrams only push deadlines later; a first datagram or a close needs the timer's attention.
  if (room_.closed() || deadline_may_be_earlier_) after_change();
}

void room_host::on_unreachable(const libchat::peer_address& endpoint) {
  output out(*this);
  room_.on_unreachable(endpoint, now(), out);
  after_change();
}

void room_host::shutdown() {
  output out(*this);
  room_.shutdown(out);
  after_change();
}

void room_host::after_change() {
  if (room_.closed()) {
    timer_.cancel();
    armed_for_.reset();
    remove_from_table();
    return;
  }
  deadline_may_be_earlier_ = false;
  const auto next = room_.next_deadline();
  if (!next) {
    timer_.cancel();
    armed_for_.reset();
    return;
  }
  if (armed_for_ && *armed_for_ <= *next) return;
  armed_for_ = *next;
  timer_.expires_at(*next);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->on_timer();
  });
}

void room_host::remove_from_table() {
  if (removed_from_table_) return;
  removed_from_table_ = true;
  services_.rooms.erase(name_, this);
  // The name is free cluster-wide too (unless a newer room of that name took its entry).
  if (services_.cluster) services_.cluster->release(name_, directory_revision_);
}

void room_host::on_timer() {
  armed_for_.reset();
  output out(*this);
  room_.expire(now(), out);
  after_change();
}

}  // namespace chat_server
