#include "handshake_connection.hpp"

#include "address_gate.hpp"
#include "handshake_stats.hpp"
#include "hash_pool.hpp"
#include "replay_gate.hpp"
#include "room_host.hpp"
#include "room_table.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

namespace chat_server {
namespace asio = boost::asio;

namespace {
// After the last reply, how long the client may take to close its side before we drop the socket.
constexpr std::chrono::milliseconds linger_time{1000};
constexpr std::chrono::milliseconds busy_deadline{1000};
constexpr std::size_t max_drained_bytes = 64u << 10;

bool refused(libchat::door how) { return how != libchat::door::open; }
// The one wall-clock read of a handshake: what a sealed request's time is checked against.
libchat::wall_time wall_clock() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}
}  // namespace

handshake_connection::handshake_connection(handshake_services& services, asio::ip::tcp::socket socket,
                                           const libchat::ip_address& ip, libchat::door how)
    : services_(services),
      socket_(std::move(socket)),
      deadline_(socket_.get_executor()),
      door_(how),
      ip_(ip),
      exchange_(services.settings.exchange, services.key, services.gate, services.replays, ip, wall_clock(), how) {
  (refused(door_) ? services_.gauges.refusing : services_.gauges.serving).fetch_add(1, std::memory_order_relaxed);
  boost::system::error_code ec;
  const auto remote = socket_.remote_endpoint(ec);
  peer_ = libchat::peer_address{ip_, ec ? std::uint16_t{0} : remote.port()}.to_string();
}

handshake_connection::~handshake_connection() {
  (refused(door_) ? services_.gauges.refusing : services_.gauges.serving).fetch_sub(1, std::memory_order_relaxed);
  if (!refused(door_)) services_.gate.end_handshake(ip_);
}

void handshake_connection::start() {
  // One deadline for the whole request, from accept: a byte every few seconds does not extend it.
  arm_deadline(refused(door_) ? std::min(busy_deadline, services_.settings.timeout) : services_.settings.timeout);
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->execute(self->exchange_.start()); });
}

void handshake_connection::arm_deadline(std::chrono::milliseconds after) {
  deadline_.expires_after(after);
  deadline_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) {
      self->gone_->store(true, std::memory_order_relaxed);
      boost::system::error_code ignored;
      self->socket_.close(ignored);
      // No socket operation is pending while a hash waits: a job still queued is dropped and the
      // exchange ends here (one already running comes back, and finds the connection gone).
      if (self->hash_ticket_ != 0 && self->services_.hashes.cancel(self->hash_ticket_)) {
        self->hash_ticket_ = 0;
        self->fail();
      }
    }
  });
}

void handshake_connection::execute(const libchat::server_action& action) {
  using kind = libchat::server_action::kind;
  switch (action.what) {
    case kind::read: return read(action.buffer);
    case kind::write: return write(action.bytes);
    case kind::find_room: return find_room(action.room);
    case kind::check_room: return check_room();
    case kind::hash_password: return hash_password(action.password, action.hash_budget);
    case kind::verify_password: return verify_password(action.password, *action.stored, action.hash_budget);
    case kind::create_room: return create_room(*action.request);
    case kind::admit: return admit(*action.request);
    case kind::close:
      log_outcome();
      return close_gracefully();
  }
}

void handshake_connection::read(libchat::mutable_byte_view into) {
  socket_.async_read_some(asio::buffer(into.data(), into.size()),
                          [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                            if (ec) {
                              // Closed, reset, or the deadline fired: nobody is left to answer.
                              if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor)
                                self->services_.log.info("handshake from {}: no complete request within the deadline",
                                                    self->peer_);
                              return self->fail();
                            }
                            self->execute(self->exchange_.on_read(n));
                          });
}

void handshake_connection::write(libchat::byte_view bytes) {
  asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()),
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      if (ec) return self->fail();
                      self->execute(self->exchange_.on_written());
                    });
}

void handshake_connection::find_room(std::string_view name) {
  room_ = services_.rooms.find(name);
  libchat::room_lookup lookup;
  lookup.found = room_ != nullptr;
  lookup.at_capacity = services_.rooms.size() >= services_.settings.max_rooms;
  if (room_) lookup.password = room_->password();
  execute(exchange_.on_room_lookup(lookup));
}

void handshake_connection::check_room() {
  // On the room's strand: a peek at its capacity and join rate, so that a join it would refuse
  // anyway is refused before its password is hashed.
  asio::post(room_->strand(), [self = shared_from_this(), host = room_] {
    const auto refusal = host->may_admit();
    self->come_back([self, refusal] { self->execute(self->exchange_.on_room_checked(refusal)); });
  });
}

void handshake_connection::hash_password(std::string_view password, double budget_left) {
  auto run = [self = shared_from_this(), password = std::string(password), params = services_.settings.password] {
    std::optional<libchat::password_hash> hash;
    if (!self->gone_->load(std::memory_order_relaxed)) hash = libchat::hash_password(password, params);
    self->come_back([self, hash] { self->execute(self->exchange_.on_hashed(hash)); });
  };
  submit_hash(budget_left, std::move(run),
              [self = shared_from_this()] { self->execute(self->exchange_.on_hashed(std::nullopt)); });
}

void handshake_connection::verify_password(std::string_view password, const libchat::password_hash& stored,
                                           double budget_left) {
  auto verify = [self = shared_from_this(), password = std::string(password), stored] {
    bool right = false;
    if (!self->gone_->load(std::memory_order_relaxed)) right = libchat::verify_password(password, stored);
    self->come_back([self, right] { self->execute(self->exchange_.on_verified(right)); });
  };
  submit_hash(budget_left, std::move(verify),
              [self = shared_from_this()] { self->execute(self->exchange_.on_verified(std::nullopt)); });
}

void handshake_connection::submit_hash(double budget_left, std::function<void()> hash_then_come_back,
                                       std::function<void()> refused) {
  // A job dropped to make room for another client's comes back here as refused (server_busy).
  auto job = [self = shared_from_this(), hash = std::move(hash_then_come_back), refused](bool run) {
    if (run) return hash();
    self->come_back(refused);
  };
  hash_ticket_ = services_.hashes.submit(services_.gate.client_of(ip_), budget_left, std::move(job));
  if (hash_ticket_ == 0) refused();
}

void handshake_connection::create_room(const libchat::admission_request& request) {
  // The host's token is issued before anyone else can see the room, so the creator is the host.
  auto host = std::make_shared<room_host>(services_.new_rooms, std::string(request.room), *request.password, ip_);
  auto issued = host->admit(request.username, ip_, request.make_channel);
  boost::system::error_code inserted = issued ? boost::system::error_code{} : issued.error();
  if (issued) {
    host->publish(true);
    inserted = services_.rooms.insert(host, services_.settings.max_rooms);
  }
  if (inserted) {
    host->publish(false);  // never seen by anyone: the exchange still holds the reservations
    host->shutdown();      // nothing else holds it yet, so its strand is not needed
    return execute(exchange_.on_admitted(inserted));
  }
  execute(exchange_.on_admitted(issued));
}

void handshake_connection::admit(const libchat::admission_request& request) {
  asio::post(room_->strand(), [self = shared_from_this(), host = room_, username = std::string(request.username),
                               make_channel = request.make_channel] {
    auto issued = host->admit(username, self->ip_, make_channel);
    self->come_back([self, issued] { self->execute(self->exchange_.on_admitted(issued)); });
  });
}

void handshake_connection::come_back(std::function<void()> f) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), f = std::move(f)] {
    self->hash_ticket_ = 0;  // whatever comes back, no job of ours waits any more
    if (self->gone_->load(std::memory_order_relaxed)) return self->fail();
    f();
  });
}

void handshake_connection::fail() {
  gone_->store(true, std::memory_order_relaxed);
  if (exchange_.done()) return;
  exchange_.on_failed();
  services_.outcomes.abandoned();
}

void handshake_connection::log_outcome() {
  using kind = libchat::exchange_outcome::kind;
  const auto& o = exchange_.outcome();
  services_.outcomes.answered(o, !refused(door_), std::chrono::steady_clock::now() - accepted_);
  const std::string room = "'" + std::string(exchange_.room()) + "'";
  switch (o.what) {
    case kind::created:
      services_.log.info("room {} created by '{}' from {}{}{}", room, o.username, peer_,
                    o.password ? ", password-protected" : "", o.encrypted ? ", encrypted" : ", NOT encrypted");
      return;
    case kind::refused: {
      // Never with a password or a token: the refusal's name says what happened.
      const std::string_view wire = libchat::wire_name(libchat::refusal_error(o.why));
      const std::string_view detail = o.why == libchat::refusal::malformed
                                          ? libchat::errc_name(static_cast<libchat::errc>(o.request_error.value()))
                                          : libchat::refusal_name(o.why);
      services_.log.info("handshake from {} for room {} rejected: {}{}{}", peer_, room, wire, detail == wire ? "" : " ",
                    detail == wire ? "" : detail);
      return;
    }
    case kind::joined:
    case kind::key_sent:
    case kind::unfinished: return;  // the room logs the token it issued
  }
}

void handshake_connection::close_gracefully() {
  // Shut down our side, then read until the client closes (bounded), so that a request body we
  // never read does not turn our close into a reset that destroys the reply in flight.
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  arm_deadline(linger_time);
  drain();
}

void handshake_connection::drain() {
  socket_.async_read_some(asio::buffer(discard_), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                              std::size_t n) {
    self->drained_ += n;
    if (!ec && self->drained_ < max_drained_bytes) return self->drain();
    self->deadline_.cancel();
    boost::system::error_code ignored;
    self->socket_.close(ignored);
  });
}

}  // namespace chat_server
