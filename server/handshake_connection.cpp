#include "handshake_connection.hpp"

#include "hash_pool.hpp"
#include "net_address.hpp"
#include "room_host.hpp"
#include "room_table.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

namespace chat_server {
namespace asio = boost::asio;
using libchat::frame_state;
using libchat::tcrp_error;

namespace {
// After the last reply, how long the client may take to close its side before we drop the socket.
constexpr std::chrono::milliseconds linger_time{1000};
constexpr std::chrono::milliseconds busy_deadline{1000};
constexpr std::size_t max_drained_bytes = 64u << 10;

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }
}  // namespace

handshake_connection::handshake_connection(server_context& ctx, asio::ip::tcp::socket socket,
                                           const libchat::ip_address& ip, admission how)
    : ctx_(ctx),
      socket_(std::move(socket)),
      deadline_(socket_.get_executor()),
      admission_(how),
      ip_(ip),
      reader_(libchat::tcrp_direction::to_server, ctx.config.max_payload) {
  (refused() ? ctx_.busy_handshakes : ctx_.handshakes).fetch_add(1, std::memory_order_relaxed);
  boost::system::error_code ec;
  const auto remote = socket_.remote_endpoint(ec);
  peer_ = libchat::peer_address{ip_, ec ? std::uint16_t{0} : remote.port()}.to_string();
}

handshake_connection::~handshake_connection() {
  (refused() ? ctx_.busy_handshakes : ctx_.handshakes).fetch_sub(1, std::memory_order_relaxed);
  if (!refused()) ctx_.limits.end_handshake(ip_);
  if (holds_hash_) ctx_.limits.release_hash(ip_);
}

void handshake_connection::start() {
  // One deadline for the whole request, from accept: a byte every few seconds does not extend it.
  arm_deadline(refused() ? std::min(busy_deadline, ctx_.config.handshake_timeout) : ctx_.config.handshake_timeout);
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->read_request(); });
}

void handshake_connection::arm_deadline(std::chrono::milliseconds after) {
  deadline_.expires_after(after);
  deadline_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) {
      boost::system::error_code ignored;
      self->socket_.close(ignored);
    }
  });
}

void handshake_connection::read_request() {
  const auto space = reader_.prepare();
  socket_.async_read_some(asio::buffer(space.data(), space.size()),
                          [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                            if (ec) {
                              // Closed, reset, or the deadline fired: nobody is left to answer.
                              if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor)
                                self->ctx_.log.info("handshake from {}: no complete request within the deadline",
                                                    self->peer_);
                              return;
                            }
                            self->reader_.commit(n);
                            if (self->reader_.state() == libchat::tcrp_reader::status::need_more)
                              return self->read_request();
                            self->on_request();
                          });
}

void handshake_connection::on_request() {
  if (const auto& header = reader_.header()) operation_ = header->operation;
  room_ = std::string(reader_.room());
  if (reader_.state() == libchat::tcrp_reader::status::failed) return finish(malformed(reader_.error()));
  if (admission_ == admission::server_busy) {
    return finish(error_reply(frame_state::response, tcrp_error::server_busy,
                              "The server is busy; try again in a moment.", "max_handshakes"));
  }
  if (admission_ == admission::rate_limited) {
    return finish(error_reply(frame_state::response, tcrp_error::rate_limited,
                              "Too many connections from your address; try again in a few seconds.",
                              "handshakes_per_ip"));
  }
  if (operation_ == static_cast<std::uint8_t>(libchat::operation::server_key))
    return finish({frame_state::response, libchat::encode_server_key_response(ctx_.key.public_half())});

  const std::string_view payload = reader_.payload();
  boost::system::result<libchat::room_request> request = make_error_code(libchat::errc::bad_handshake);
  if (libchat::is_sealed_request(payload)) {
    secure_ = std::make_unique<libchat::server_handshake>(ctx_.key, operation_, room_);
    request = secure_->open_request(payload);
    sealed_ = request || request.error() != libchat::errc::bad_handshake;
    if (!sealed_) {
      return finish(error_reply(frame_state::response, tcrp_error::bad_request,
                                "The encrypted request could not be opened; the client may hold an old copy of the "
                                "server's key.",
                                "bad_handshake"));
    }
  } else {
    if (!ctx_.config.allow_plaintext) {
      return finish(error_reply(frame_state::response, tcrp_error::encryption_required,
                                "This server accepts encrypted clients only; update your client, or ask the operator "
                                "to allow unencrypted ones.",
                                "plaintext"));
    }
    request = libchat::parse_room_request(payload);
  }
  if (!request) return finish(malformed(request.error()));
  request_ = std::move(*request);
  if (operation_ == static_cast<std::uint8_t>(libchat::operation::create_room)) return create_room();
  join_room();
}

void handshake_connection::create_room() {
  if (ctx_.rooms.find(room_)) {
    return finish(error_reply(frame_state::response, tcrp_error::room_exists,
                              "A room named " + quoted(room_) + " already exists; join it or pick another name."));
  }
  if (ctx_.rooms.size() >= ctx_.config.max_rooms) {
    return finish(error_reply(frame_state::response, tcrp_error::server_busy,
                              "The server holds as many rooms as it may; try again later.", "max_rooms"));
  }
  if (request_.password && !take_hash_slot()) return finish(hash_busy_reply(frame_state::response));
  send(frame_state::response, libchat::encode_accepted({"Creating room " + quoted(room_) + "."}),
       [self = shared_from_this()] {
         if (!self->request_.password) return self->create_with(std::nullopt);
         auto job = [self, password = *self->request_.password, params = self->ctx_.config.password] {
           auto hash = libchat::hash_password(password, params);
           self->come_back([self, hash] {
             self->give_back_hash_slot();
             self->create_with(hash);
           });
         };
         if (!self->ctx_.hashes.submit(job)) self->finish(self->busy_reply());
       });
}

void handshake_connection::create_with(std::optional<libchat::password_hash> hash) {
  if (!ctx_.limits.reserve_room(ip_)) {
    return finish(error_reply(frame_state::completion, tcrp_error::rate_limited,
                              "Your address already hosts " + std::to_string(ctx_.config.per_address.rooms) +
                                  " rooms, as many as it may; close one first.",
                              "rooms_per_ip"));
  }
  if (!ctx_.limits.reserve_token(ip_)) {
    ctx_.limits.release_room(ip_);
    return finish(tokens_exhausted());
  }
  // The host's token is issued before anyone else can see the room, so the creator is the host.
  // The room gives the address's room and tokens back as they end.
  auto host = std::make_shared<room_host>(ctx_, room_, std::move(hash), ip_);
  auto issued = host->admit(request_.username, ip_, channel_maker());
  if (!issued || !ctx_.rooms.insert(host)) {
    host->shutdown();  // nothing else holds it yet, so its strand is not needed
    return finish(error_reply(frame_state::completion, tcrp_error::room_exists,
                              "A room named " + quoted(room_) + " was created meanwhile; join it or pick another name."));
  }
  ctx_.log.info("room {} created by '{}' from {}{}{}", quoted(room_), request_.username, peer_,
                request_.password ? ", password-protected" : "", sealed_ ? ", encrypted" : ", NOT encrypted");
  finish({frame_state::completion, libchat::encode_completion(completion(*issued, true))});
}

void handshake_connection::join_room() {
  auto host = ctx_.rooms.find(room_);
  if (!host) {
    return finish(error_reply(frame_state::response, tcrp_error::room_not_found,
                              "There is no room named " + quoted(room_) + "."));
  }
  send(frame_state::response, libchat::encode_accepted({"Joining room " + quoted(room_) + "."}),
       [self = shared_from_this(), host] {
         // Check order: room, then password, then name and capacity, so that someone without the
         // password learns nothing about who is inside.
         asio::post(host->strand(), [self, host] {
           auto stored = host->room().password();
           self->come_back([self, host, stored] { self->join_checked_password(host, stored); });
         });
       });
}

void handshake_connection::join_checked_password(const std::shared_ptr<room_host>& host,
                                                 const std::optional<libchat::password_hash>& stored) {
  if (!stored) return join_admit(host);
  const auto now = std::chrono::steady_clock::now();
  // The address's one hash slot first, then its failure budget: two attempts at once cannot both
  // pass the budget's last try.
  if (request_.password && !take_hash_slot()) return finish(hash_busy_reply(frame_state::completion));
  if (!ctx_.limits.may_try_password(ip_, room_, now)) {
    give_back_hash_slot();
    // Refused without hashing: guessing costs the guesser time, not the server CPU.
    return finish(error_reply(frame_state::completion, tcrp_error::rate_limited,
                              "Too many wrong passwords for room " + quoted(room_) +
                                  " from your address; try again in a few minutes.",
                              "password_failures"));
  }
  if (!request_.password) {
    ctx_.limits.password_failed(ip_, room_, now);
    return finish(error_reply(frame_state::completion, tcrp_error::bad_password,
                              "Room " + quoted(room_) + " needs a password."));
  }
  auto job = [self = shared_from_this(), host, password = *request_.password, hash = *stored] {
    const bool right = libchat::verify_password(password, hash);
    self->come_back([self, host, right] {
      self->give_back_hash_slot();
      if (right) return self->join_admit(host);
      self->ctx_.limits.password_failed(self->ip_, self->room_, std::chrono::steady_clock::now());
      self->finish(self->error_reply(frame_state::completion, tcrp_error::bad_password,
                                     "Wrong password for room " + quoted(self->room_) + "."));
    });
  };
  if (!ctx_.hashes.submit(job)) finish(busy_reply());
}

handshake_connection::reply handshake_connection::tokens_exhausted() {
  return error_reply(frame_state::completion, tcrp_error::rate_limited,
                     "Your address is in as many rooms as it may (" +
                         std::to_string(ctx_.config.per_address.tokens) + "); leave one first.",
                     "tokens_per_ip");
}

bool handshake_connection::take_hash_slot() {
  holds_hash_ = ctx_.limits.reserve_hash(ip_);
  return holds_hash_;
}

void handshake_connection::give_back_hash_slot() {
  if (holds_hash_) ctx_.limits.release_hash(ip_);
  holds_hash_ = false;
}

handshake_connection::reply handshake_connection::hash_busy_reply(frame_state state) {
  return error_reply(state, tcrp_error::rate_limited,
                     "Another password check from your address is in progress; try again in a moment.",
                     "hash_per_ip");
}

void handshake_connection::join_admit(const std::shared_ptr<room_host>& host) {
  if (!ctx_.limits.reserve_token(ip_)) return finish(tokens_exhausted());
  asio::post(host->strand(), [self = shared_from_this(), host] {
    auto issued = host->admit(self->request_.username, self->ip_, self->channel_maker());
    if (!issued) self->ctx_.limits.release_token(self->ip_);  // the room keeps it only when admitted
    self->come_back([self, issued] {
      if (!issued) return self->finish(self->admit_failed(issued.error()));
      self->finish({frame_state::completion, libchat::encode_completion(self->completion(*issued, false))});
    });
  });
}

libchat::channel_maker handshake_connection::channel_maker() {
  if (!sealed_) return {};
  // Runs on the room's strand while this connection waits for the answer.
  return [self = shared_from_this()](std::uint64_t session) { return self->secure_->channel(session); };
}

libchat::completion_response handshake_connection::completion(const libchat::issued_token& issued,
                                                               bool created) const {
  libchat::completion_response r{created, issued.token, ctx_.udp_port, issued.host};
  if (sealed_) r.session = issued.session;
  return r;
}

void handshake_connection::come_back(std::function<void()> f) { asio::post(socket_.get_executor(), std::move(f)); }

handshake_connection::reply handshake_connection::admit_failed(boost::system::error_code ec) {
  switch (static_cast<libchat::errc>(ec.value())) {
    case libchat::errc::name_taken:
      return error_reply(frame_state::completion, tcrp_error::name_taken,
                         "The name " + quoted(request_.username) + " is already taken in room " + quoted(room_) +
                             "; pick another.");
    case libchat::errc::room_full:
      return error_reply(frame_state::completion, tcrp_error::room_full,
                         "Room " + quoted(room_) + " is full (" + std::to_string(ctx_.config.room.max_members) +
                             " members).");
    case libchat::errc::rate_limited:
      return error_reply(frame_state::completion, tcrp_error::rate_limited,
                         "Room " + quoted(room_) + " is taking joins too fast; try again in a few seconds.",
                         "join_rate");
    case libchat::errc::encryption_required:
      return error_reply(frame_state::completion, tcrp_error::encryption_required,
                         "Room " + quoted(room_) + " is encrypted; join it with a client that encrypts.");
    case libchat::errc::encryption_mismatch:
      return error_reply(frame_state::completion, tcrp_error::encryption_mismatch,
                         "Room " + quoted(room_) +
                             " is not encrypted; join it only if you accept that (chat-client --insecure).");
    default:
      return error_reply(frame_state::completion, tcrp_error::room_not_found,
                         "Room " + quoted(room_) + " closed before you could join.");
  }
}

handshake_connection::reply handshake_connection::malformed(boost::system::error_code ec) {
  return error_reply(frame_state::response, tcrp_error::bad_request, "The request is malformed: " + ec.message() + ".",
                     libchat::errc_name(static_cast<libchat::errc>(ec.value())));
}

handshake_connection::reply handshake_connection::busy_reply() {
  return error_reply(frame_state::completion, tcrp_error::server_busy, "The server is busy; try again in a moment.",
                     "hash_queue_full");
}

handshake_connection::reply handshake_connection::error_reply(frame_state state, tcrp_error error,
                                                              std::string message, std::string_view detail) {
  ctx_.log.info("handshake from {} for room {} rejected: {}{}{}", peer_, quoted(room_), libchat::wire_name(error),
                detail.empty() ? "" : " ", detail);
  return {state, libchat::encode_error({error, std::move(message)})};
}

void handshake_connection::send(frame_state state, const std::string& payload, std::function<void()> next) {
  // Once the request opened, every reply is sealed to this client: its status, its token.
  const std::string body = !sealed_                             ? payload
                           : state == frame_state::response ? secure_->seal_response(payload)
                                                            : secure_->seal_completion(payload);
  out_ = libchat::encode_frame(operation_, state, room_, body);
  asio::async_write(socket_, asio::buffer(out_),
                    [self = shared_from_this(), next = std::move(next)](const boost::system::error_code& ec,
                                                                        std::size_t) {
                      if (!ec) next();
                    });
}

void handshake_connection::finish(const reply& r) {
  send(r.state, r.payload, [self = shared_from_this()] { self->close_gracefully(); });
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
