#include "libchat/client_exchange.hpp"

#include <variant>

namespace libchat {
namespace {

// The plaintext errors a genuine server sends to a sealed request: it answers them before it
// could read the request (server_busy, rate_limited at the door) or because it could not
// (bad_request: the request did not open). Anything else in plaintext is forged.
bool may_come_unsealed(tcrp_error e) {
  return e == tcrp_error::bad_request || e == tcrp_error::server_busy || e == tcrp_error::rate_limited;
}

}  // namespace

std::string_view exchange_failure::code() const noexcept {
  switch (what) {
    case kind::refused: return wire_name(refusal);
    case kind::no_server_key: return "no_server_key";
    case kind::bad_reply: return "bad_reply";
    case kind::bad_handshake: return "bad_handshake";
    case kind::closed: return "closed";
  }
  return "bad_reply";
}

client_exchange::client_exchange(client_exchange_config config) : config_(std::move(config)) {}
client_exchange::~client_exchange() = default;

client_action client_exchange::start() {
  const auto op = static_cast<std::uint8_t>(config_.op);
  if (is_key_exchange()) {
    // Operation 3: an empty room name and an empty payload.
    request_ = encode_frame(op, frame_state::request, {}, {});
  } else {
    std::optional<byte_view> fixed;
    if (!config_.ephemeral_private.empty()) fixed = byte_view(config_.ephemeral_private);
    if (config_.server_key)
      secure_ = std::make_unique<client_handshake>(*config_.server_key, op, config_.room, fixed);
    boost::system::result<std::string> payload = encode_room_request(config_.request);
    if (secure_) {
      room_request timed = config_.request;
      timed.sent_at = config_.now;
      payload = secure_->seal_request(timed);
    }
    // A small-order server key agrees no secret: nothing is sent to it.
    if (!payload) return fail(exchange_failure::kind::bad_handshake, "the server key of " + config_.server_name +
                                                                      " is unusable: " + payload.error().message());
    request_ = encode_frame(op, frame_state::request, config_.room, *payload);
  }
  return {.what = client_action::kind::write, .bytes = request_};
}

client_action client_exchange::on_written() { return read_next_frame(); }

client_action client_exchange::read_next_frame() {
  // A reader of replies asks for exactly what the frame still needs, so frames that follow each
  // other on the stream are read one reader each.
  reader_.emplace(tcrp_direction::to_client, config_.max_reply_payload);
  received_ = 0;
  return {.what = client_action::kind::read, .buffer = reader_->prepare()};
}

client_action client_exchange::on_read(std::size_t n) {
  received_ += n;
  reader_->commit(n);
  if (reader_->state() == tcrp_reader::status::need_more) return {.what = client_action::kind::read, .buffer = reader_->prepare()};
  if (reader_->state() == tcrp_reader::status::failed) return bad_reply("malformed frame: " + reader_->error().message());
  return on_frame();
}

client_action client_exchange::on_closed() {
  return fail(exchange_failure::kind::closed, "the server " + config_.server_name + " closed the connection " +
                                                  (received_ == 0 && !accepted_ ? "without replying"
                                                   : received_ == 0            ? "before the completion"
                                                                               : "in the middle of a reply"));
}

client_action client_exchange::on_frame() {
  if (is_key_exchange()) return on_key_reply();
  return reader_->header()->state == static_cast<std::uint8_t>(frame_state::response) ? on_response()
                                                                                      : on_completion();
}

client_action client_exchange::on_key_reply() {
  const auto& header = *reader_->header();
  if (header.state != static_cast<std::uint8_t>(frame_state::response))
    return bad_reply("a completion arrived instead of the server's key");
  if (header.operation != static_cast<std::uint8_t>(operation::server_key))
    return bad_reply("the reply is for another operation");
  if (!reader_->room().empty()) return bad_reply("the key reply names a room");
  auto key = parse_server_key_response(reader_->payload());
  if (key) {
    key_ = *key;
    done_ = true;
    return {};
  }
  // Not a key: perhaps an error reply (busy; or a server too old to know operation 3). None of it
  // is authenticated: there is no key yet to authenticate it with.
  auto response = parse_response(reader_->payload());
  if (response) {
    if (auto* refusal = std::get_if<error_response>(&*response)) {
      if (refusal->error != tcrp_error::bad_request) return refused(*refusal, true);
      exchange_failure old{exchange_failure::kind::no_server_key, refusal->error, true, {}};
      old.message = "the server " + config_.server_name +
                    " did not give out its key for an encrypted session; it may be an older chat-server that only "
                    "speaks plaintext (it said: " +
                    refusal->message + ")";
      failure_ = std::move(old);
      done_ = true;
      return {};
    }
  }
  return bad_reply("unreadable key: " + key.error().message());
}

client_action client_exchange::on_response() {
  if (accepted_) return bad_reply("a second response arrived");
  const std::string_view payload = reader_->payload();
  if (secure_ && !is_sealed_request(payload)) {
    auto plain = parse_response(payload);
    if (!plain) return unreadable("response", plain.error());
    auto* refusal = std::get_if<error_response>(&*plain);
    if (!refusal || !may_come_unsealed(refusal->error)) return unreadable("response", errc::bad_handshake);
    if (auto bad = echo_problem(true)) return bad_reply(*bad);
    return refused(*refusal, true);
  }
  auto response = secure_ ? secure_->open_response(payload) : parse_response(payload);
  if (!response) return unreadable("response", response.error());
  auto* refusal = std::get_if<error_response>(&*response);
  if (auto bad = echo_problem(refusal != nullptr)) return bad_reply(*bad);
  if (refusal) return refused(*refusal);
  accepted_ = true;
  return read_next_frame();
}

client_action client_exchange::on_completion() {
  if (!accepted_) return bad_reply("a completion arrived before the response");
  // A request can still fail after its 202 (a wrong password is found only after hashing), so
  // the completion may be an error too.
  auto final_reply = secure_ ? secure_->open_completion(reader_->payload()) : parse_final_response(reader_->payload());
  if (!final_reply) return unreadable("completion", final_reply.error());
  if (auto bad = echo_problem(false)) return bad_reply(*bad);
  if (auto* refusal = std::get_if<error_response>(&*final_reply)) return refused(*refusal);
  const auto& completion = std::get<completion_response>(*final_reply);
  exchange_grant grant;
  if (secure_) {
    if (!completion.session) return bad_reply("an encrypted completion without a session id");
    grant.channel = secure_->channel(*completion.session, completion.key_datagrams.value_or(default_key_datagrams));
    // A plaintext completion's next key is ignored: anyone on the path could have written it.
    grant.next_key = completion.next_key;
  }
  grant.token = completion.token;
  grant.udp_port = completion.udp_port;
  grant.udp_host = completion.udp_host;
  grant.host = completion.host;
  grant.created = completion.created;
  grant_ = std::move(grant);
  done_ = true;
  return {};
}

// The server's replies carry the request's operation and room name; only a state-1 error reply
// may carry an empty name (the server could not read ours).
std::optional<std::string> client_exchange::echo_problem(bool state1_error) const {
  if (reader_->header()->operation != static_cast<std::uint8_t>(config_.op)) return "the reply is for another operation";
  if (reader_->room() != config_.room && !(state1_error && reader_->room().empty()))
    return "the reply is for another room";
  return std::nullopt;
}

client_action client_exchange::fail(exchange_failure::kind what, std::string message) {
  failure_ = exchange_failure{what, tcrp_error::internal_error, false, std::move(message)};
  done_ = true;
  return {};
}

client_action client_exchange::bad_reply(std::string_view what) {
  return fail(exchange_failure::kind::bad_reply,
              "the server " + config_.server_name + " sent a malformed reply (" + std::string(what) + ")");
}

// A reply that does not parse, or (encrypted) does not open with the handshake's keys.
client_action client_exchange::unreadable(std::string_view what, boost::system::error_code ec) {
  if (ec == errc::bad_handshake) {
    return fail(exchange_failure::kind::bad_handshake,
                "the server's reply could not be authenticated: the " + std::string(what) + " from " +
                    config_.server_name +
                    " was not sealed by the holder of the server's key, or was altered on the way (possible "
                    "interception)");
  }
  return bad_reply("unreadable " + std::string(what) + ": " + ec.message());
}

client_action client_exchange::refused(const error_response& r, bool unauthenticated) {
  failure_ = exchange_failure{exchange_failure::kind::refused, r.error, unauthenticated, r.message};
  done_ = true;
  return {};
}

}  // namespace libchat
