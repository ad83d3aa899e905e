#include "handshake_connection.hpp"

#include "address_gate.hpp"
#include "handshake_stats.hpp"
#include "hash_pool.hpp"
#include "replay_gate.hpp"
#include "room_host.hpp"
#include "room_table.hpp"

#include <boost/asio/post.hpp>

#include <spdlog/spdlog.h>

namespace chat_server {
namespace asio = boost::asio;

namespace {
constexpr std::chrono::milliseconds busy_deadline{1000};
// A request is one frame: a header of a few bytes, a name of up to 255 and the payload. Bytes past
// that are refused by the exchange (bad_request) wherever it runs, so they need not be kept.
constexpr std::size_t frame_overhead = 512;

bool refused(libchat::door how) {
  return how != libchat::door::open;
}
// The one wall-clock read of a handshake: what a sealed request's time is checked against.
libchat::wall_time wall_clock() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}
}  // namespace

libchat::door door_for(handshake_services& services, const libchat::ip_address& ip) {
  if (services.gauges.serving.load(std::memory_order_relaxed) >= services.settings.max_handshakes)
    return libchat::door::server_busy;
  if (services.gate.begin_handshake(ip) != libchat::address_limits::verdict::ok) return libchat::door::rate_limited;
  return libchat::door::open;
}

handshake_connection::handshake_connection(handshake_services& services, std::shared_ptr<handshake_transport> transport,
                                           const libchat::ip_address& ip, libchat::door how)
    : services_(services),
      transport_(std::move(transport)),
      deadline_(transport_->executor()),
      door_(how),
      ip_(ip),
      peer_(transport_->peer()),
      exchange_(services.settings.exchange, services.key, services.gate, services.replays, ip, wall_clock(), how) {
  (refused(door_) ? services_.gauges.refusing : services_.gauges.serving).fetch_add(1, std::memory_order_relaxed);
}

handshake_connection::~handshake_connection() {
  (refused(door_) ? services_.gauges.refusing : services_.gauges.serving).fetch_sub(1, std::memory_order_relaxed);
  if (!refused(door_)) services_.gate.end_handshake(ip_);
  if (!forward_id_.empty() && services_.cluster) services_.cluster->cancel_forward(forward_id_);
}

void handshake_connection::start() {
  // One deadline for the whole request, from accept: a byte every few seconds does not extend it.
  arm_deadline(refused(door_) ? std::min(busy_deadline, services_.settings.timeout) : services_.settings.timeout);
  asio::post(transport_->executor(), [self = shared_from_this()] { self->execute(self->exchange_.start()); });
}

void handshake_connection::arm_deadline(std::chrono::milliseconds after) {
  deadline_.expires_after(after);
  deadline_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) {
      self->gone_->store(true, std::memory_order_relaxed);
      self->transport_->abort();
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
    case kind::route: return route(action.room);
    case kind::write: return write(action.bytes, action.last);
    case kind::find_room: return find_room(action.room);
    case kind::check_room: return check_room();
    case kind::hash_password: return hash_password(action.password, action.hash_budget);
    case kind::verify_password: return verify_password(action.password, *action.stored, action.hash_budget);
    case kind::create_room: return create_room(*action.request);
    case kind::admit: return admit(*action.request);
    case kind::close: log_outcome(); return close_gracefully();
  }
}

void handshake_connection::read(libchat::mutable_byte_view into) {
  transport_->read_some(into, [self = shared_from_this(), into](const boost::system::error_code& ec, std::size_t n) {
    if (ec) {
      // Closed, reset, or the deadline fired: nobody is left to answer.
      if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor)
        self->services_.log.info("handshake from {}: no complete request within the deadline", self->peer_);
      return self->fail();
    }
    // Cluster mode: kept, so that a join for a room on another node can be forwarded as it came.
    if (self->services_.cluster &&
        self->request_bytes_.size() + n <= self->services_.settings.exchange.max_payload + frame_overhead)
      self->request_bytes_.insert(self->request_bytes_.end(), into.data(), into.data() + n);
    self->execute(self->exchange_.on_read(n));
  });
}

void handshake_connection::write(libchat::byte_view bytes, bool last) {
  transport_->write(bytes, last, [self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec) return self->fail();
    self->execute(self->exchange_.on_written());
  });
}

void handshake_connection::route(std::string_view name) {
  // A join, read but not opened: if its room is homed on another node, the request goes there as
  // it came, and that node opens it. A request forwarded here is this node's to answer.
  auto* cluster = services_.cluster;
  if (!cluster || !cluster->ready() || transport_->forwarded() || services_.rooms.find(name))
    return execute(exchange_.on_routed());
  cluster->find(std::string(name), [self = shared_from_this()](cluster::directory_answer answer) {
    self->come_back([self, answer = std::move(answer)] {
      if (answer.what == cluster::directory_answer::kind::elsewhere) return self->forward_to(answer.node);
      self->directory_answer_ = answer;  // find_room answers from it
      self->execute(self->exchange_.on_routed());
    });
  });
}

void handshake_connection::find_room(std::string_view name) {
  auto* cluster = services_.cluster;
  // Without the directory, no answer is safe: a name could end up held twice.
  if (cluster && !cluster->ready()) return answer_lookup(false, true);
  room_ = services_.rooms.find(name);
  if (room_ || !cluster) return answer_lookup(false, false);
  if (directory_answer_) return on_directory(*directory_answer_);  // asked at route already
  cluster->find(std::string(name), [self = shared_from_this()](cluster::directory_answer answer) {
    self->come_back([self, answer = std::move(answer)] { self->on_directory(answer); });
  });
}

void handshake_connection::answer_lookup(bool found_elsewhere, bool unavailable) {
  libchat::room_lookup lookup;
  lookup.found = room_ != nullptr || found_elsewhere;
  lookup.at_capacity = services_.rooms.size() >= services_.settings.max_rooms;
  lookup.unavailable = unavailable;
  if (room_) lookup.password = room_->password();
  execute(exchange_.on_room_lookup(lookup));
}

void handshake_connection::on_directory(const cluster::directory_answer& answer) {
  using kind = cluster::directory_answer::kind;
  switch (answer.what) {
    case kind::absent:
    case kind::here: return answer_lookup(false, false);  // here but not in the table: being created, or closed
    case kind::unavailable: return answer_lookup(false, true);
    case kind::elsewhere:
      // A create answers room_exists. A join homed elsewhere was forwarded at route; one that
      // gets here was forwarded to this node already, for a room that closed meanwhile.
      return answer_lookup(exchange_.operation() != static_cast<std::uint8_t>(libchat::operation::join_room), false);
  }
}

void handshake_connection::forward_to(const std::string& node) {
  auto weak = std::weak_ptr<handshake_connection>(shared_from_this());
  forward_id_ =
      services_.cluster->forward(node, request_bytes_, ip_, std::weak_ptr<cluster::forward_sink>(weak),
                                 [self = shared_from_this(), node](cluster::forward_answer answer) {
                                   self->come_back([self, node, answer] { self->on_forward_answer(node, answer); });
                                 });
}

void handshake_connection::on_forward_answer(const std::string& node, cluster::forward_answer answer) {
  using kind = cluster::directory_answer::kind;
  switch (answer) {
    case cluster::forward_answer::accepted:
      // The home node runs the exchange now: this one gives back what it holds here.
      forwarded_ = true;
      hold_until_deadline();
      exchange_.on_failed();
      services_.log.debug("handshake from {} for room '{}' forwarded to node '{}'", peer_, exchange_.room(), node);
      return write_forwarded();
    // Not taken: this node answers, as if the room were not there (its home is gone) or busy.
    case cluster::forward_answer::no_home: directory_answer_ = {kind::absent, {}}; break;
    case cluster::forward_answer::unavailable: directory_answer_ = {kind::unavailable, {}}; break;
  }
  execute(exchange_.on_routed());
}

void handshake_connection::hold_until_deadline() {
  // Forwarded, nothing of ours is pending between the home node's frames: the deadline's wait
  // holds the connection instead (a handler destroyed with the io_context lets it go, which a
  // member holding `this` would not).
  deadline_.expires_at(deadline_.expiry());  // cancels the wait that holds it weakly
  deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    self->gone_->store(true, std::memory_order_relaxed);
    self->transport_->abort();
  });
}

void handshake_connection::on_frame(std::vector<std::uint8_t> bytes, bool last) {
  asio::post(transport_->executor(), [self = shared_from_this(), bytes = std::move(bytes), last]() mutable {
    self->forwarded_frames_.emplace_back(std::move(bytes), last);
    if (self->forwarded_) self->write_forwarded();
  });
}

void handshake_connection::write_forwarded() {
  if (writing_ || forwarded_frames_.empty() || gone_->load(std::memory_order_relaxed)) return;
  auto& [bytes, last] = forwarded_frames_.front();
  if (bytes.empty()) {  // the home node ended the exchange without a further answer
    forward_id_.clear();
    transport_->abort();
    deadline_.cancel();  // lets the connection go
    return;
  }
  writing_ = true;
  transport_->write(libchat::byte_view(bytes.data(), bytes.size()), last,
                    [self = shared_from_this(), last = last](const boost::system::error_code& ec) {
                      self->writing_ = false;
                      self->forwarded_frames_.pop_front();
                      if (ec || last) self->forward_id_.clear();
                      if (ec) {
                        self->transport_->abort();
                        self->deadline_.cancel();
                        return;
                      }
                      if (last) return self->close_gracefully();
                      self->write_forwarded();
                    });
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
  if (!services_.cluster) return create_local(request, 0);
  // Cluster mode: the name is claimed cluster-wide first (an atomic create in the directory), so
  // two nodes cannot both create it; the request stays valid until the exchange is called again.
  services_.cluster->claim(std::string(request.room), [self = shared_from_this(), &request,
                                                       room = std::string(request.room)](cluster::claim_answer a) {
    asio::post(self->transport_->executor(), [self, &request, room, a] {
      if (self->gone_->load(std::memory_order_relaxed)) {
        // The client is gone (the deadline): a name claimed for it is freed at once.
        if (a.what == cluster::claim_answer::kind::claimed) self->services_.cluster->release(room, a.revision);
        return self->fail();
      }
      switch (a.what) {
        case cluster::claim_answer::kind::claimed: return self->create_local(request, a.revision);
        case cluster::claim_answer::kind::exists:
          return self->execute(self->exchange_.on_admitted(libchat::make_error_code(libchat::errc::room_exists)));
        case cluster::claim_answer::kind::unavailable:
          return self->execute(self->exchange_.on_admitted(libchat::make_error_code(libchat::errc::overloaded)));
      }
    });
  });
}

void handshake_connection::create_local(const libchat::admission_request& request, std::uint64_t revision) {
  // The host's token is issued before anyone else can see the room, so the creator is the host.
  auto host = std::make_shared<room_host>(services_.new_rooms, std::string(request.room), *request.password, ip_);
  host->set_directory_revision(revision);
  auto issued = host->admit(request.username, ip_, request.make_channel);
  boost::system::error_code inserted = issued ? boost::system::error_code{} : issued.error();
  if (issued) {
    host->publish(true);
    inserted = services_.rooms.insert(host, services_.settings.max_rooms);
  }
  if (inserted) {
    host->publish(false);  // never seen by anyone: the exchange still holds the reservations
    host->shutdown();      // nothing else holds it yet, so its strand is not needed
    if (services_.cluster) services_.cluster->release(std::string(request.room), revision);
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
  asio::post(transport_->executor(), [self = shared_from_this(), f = std::move(f)] {
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
  // The transport lingers (TCP: drains what the client still sends); this connection lives until
  // it is closed, holding its place in the handshake limits.
  deadline_.cancel();
  transport_->finish([self = shared_from_this()] {});
}

}  // namespace chat_server
