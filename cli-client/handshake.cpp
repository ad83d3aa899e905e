#include "handshake.hpp"

#include <libchat/tcrp_reader.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <exception>

namespace chat_cli {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Replies are small JSON objects; this bound only stops a broken server from making us allocate.
constexpr std::size_t max_reply_payload = 65536;

handshake_error network_error(std::string code, std::string message) {
  return {handshake_error::kind::network, libchat::tcrp_error::internal_error, std::move(code), std::move(message)};
}

// GCC 12 can destroy a temporary inside a co_await expression twice: in the coroutines below,
// every argument of a co_await is a named variable (or trivially destructible), and the
// awaitables of our own coroutines are named before they are awaited.
class exchange {
 public:
  exchange(asio::io_context& io, const handshake_request& request)
      : request_(request), resolver_(io), socket_(io), deadline_(io) {}

  // Runs one exchange (key_talk or room_talk) under the deadline, then closes the connection.
  template <class Outcome>
  asio::awaitable<Outcome> run(asio::awaitable<Outcome> (exchange::*talk)()) {
    // One deadline for everything: when it fires it closes what is in flight, and the pending
    // operation completes with operation_aborted, which report() turns into a timeout.
    deadline_.expires_after(request_.timeout);
    deadline_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      timed_out_ = true;
      resolver_.cancel();
      boost::system::error_code ignored;
      socket_.close(ignored);
    });
    asio::awaitable<Outcome> talking = (this->*talk)();
    Outcome outcome = co_await std::move(talking);
    deadline_.cancel();
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    co_return outcome;
  }

  // Operation 3: an empty room name and an empty payload; one state-1 frame comes back.
  asio::awaitable<key_outcome> key_talk() {
    asio::awaitable<std::optional<handshake_error>> connecting = connect();
    if (auto failure = co_await std::move(connecting)) co_return *failure;
    const auto op = static_cast<std::uint8_t>(libchat::operation::server_key);
    const std::vector<std::uint8_t> frame = libchat::encode_frame(op, libchat::frame_state::request, {}, {});
    asio::awaitable<std::optional<handshake_error>> sending = send(frame, "the key request");
    if (auto failure = co_await std::move(sending)) co_return *failure;

    libchat::tcrp_reader reader(libchat::tcrp_direction::to_client, max_reply_payload);
    asio::awaitable<std::optional<handshake_error>> reading = read_frame(reader);
    if (auto failure = co_await std::move(reading)) co_return *failure;
    if (reader.header()->state != static_cast<std::uint8_t>(libchat::frame_state::response))
      co_return bad_reply("a completion arrived instead of the server's key");
    if (reader.header()->operation != op) co_return bad_reply("the reply is for another operation");
    if (!reader.room().empty()) co_return bad_reply("the key reply names a room");

    auto key = libchat::parse_server_key_response(reader.payload());
    if (key) co_return *key;
    // Not a key: perhaps an error reply (busy; or a server too old to know operation 3).
    auto response = libchat::parse_response(reader.payload());
    if (response) {
      if (auto* refusal = std::get_if<libchat::error_response>(&*response)) {
        if (refusal->error != libchat::tcrp_error::bad_request) co_return refused(*refusal);
        handshake_error old{handshake_error::kind::refused, refusal->error, "no_server_key", {}};
        old.message = "the server " + server_text() +
                      " did not give out its key for an encrypted session; it may be an older chat-server "
                      "that only speaks plaintext (it said: " +
                      refusal->message + ")";
        co_return old;
      }
    }
    co_return bad_reply("unreadable key: " + key.error().message());
  }

  // Create or join: the request (sealed to the server's key unless plaintext was asked for),
  // then state 1 (202 or an error) and state 2 (the grant, or a late error).
  asio::awaitable<handshake_outcome> room_talk() {
    asio::awaitable<std::optional<handshake_error>> connecting = connect();
    if (auto failure = co_await std::move(connecting)) co_return *failure;

    const auto op = static_cast<std::uint8_t>(request_.op);
    std::unique_ptr<libchat::client_handshake> secure;
    if (request_.server_key)
      secure = std::make_unique<libchat::client_handshake>(*request_.server_key, op, request_.room);
    const boost::system::result<std::string> payload =
        secure ? secure->seal_request(request_.payload) : libchat::encode_room_request(request_.payload);
    if (!payload) co_return bad_reply("unusable key: " + payload.error().message());
    const std::vector<std::uint8_t> frame =
        libchat::encode_frame(op, libchat::frame_state::request, request_.room, *payload);
    asio::awaitable<std::optional<handshake_error>> sending = send(frame, "the request");
    if (auto failure = co_await std::move(sending)) co_return *failure;

    bool accepted = false;
    for (;;) {
      libchat::tcrp_reader reader(libchat::tcrp_direction::to_client, max_reply_payload);
      asio::awaitable<std::optional<handshake_error>> reading = read_frame(reader);
      if (auto failure = co_await std::move(reading)) co_return *failure;
      const auto state = static_cast<libchat::frame_state>(reader.header()->state);
      if (state == libchat::frame_state::response) {
        if (accepted) co_return bad_reply("a second response arrived");
        // Encrypted, a plaintext state-1 error is still accepted (the server could not read the
        // request, so it could not seal its answer), but only as an error, never as a 202.
        auto response = secure ? secure->open_response(reader.payload()) : libchat::parse_response(reader.payload());
        if (!response) co_return unreadable("response", response.error());
        auto* refusal = std::get_if<libchat::error_response>(&*response);
        if (auto bad = check_echo(reader, refusal != nullptr)) co_return *bad;
        if (refusal) co_return refused(*refusal);
        accepted = true;
        continue;
      }
      if (!accepted) co_return bad_reply("a completion arrived before the response");
      // A request can still fail after its 202 (a wrong password is found only after hashing),
      // so the completion may be an error too.
      auto final_reply =
          secure ? secure->open_completion(reader.payload()) : libchat::parse_final_response(reader.payload());
      if (!final_reply) co_return unreadable("completion", final_reply.error());
      if (auto bad = check_echo(reader, false)) co_return *bad;
      if (auto* refusal = std::get_if<libchat::error_response>(&*final_reply)) co_return refused(*refusal);
      const auto& completion = std::get<libchat::completion_response>(*final_reply);
      session_grant grant;
      if (secure) {
        if (!completion.session) co_return bad_reply("an encrypted completion without a session id");
        grant.channel = secure->channel(*completion.session);
      }
      grant.token = completion.token;
      grant.udp_endpoint = asio::ip::udp::endpoint(peer_.address(), completion.udp_port);
      grant.host = completion.host;
      grant.created = completion.created;
      co_return grant;
    }
  }

 private:
  std::string server_text() const { return request_.host + ":" + std::to_string(request_.port); }

  handshake_error report(std::string_view code, std::string_view what, boost::system::error_code ec) {
    if (timed_out_)
      return network_error("timeout", "the handshake with " + server_text() + " timed out after " +
                                          std::to_string(request_.timeout.count()) + " s");
    return network_error(std::string(code), std::string(what) + ": " + ec.message());
  }

  asio::awaitable<std::optional<handshake_error>> connect() {
    const std::string service = std::to_string(request_.port);
    auto [resolve_ec, endpoints] =
        co_await resolver_.async_resolve(request_.host, service, tcp::resolver::numeric_service, use_tuple);
    if (resolve_ec) co_return report("connect_failed", "cannot resolve " + request_.host, resolve_ec);
    auto [connect_ec, peer] = co_await asio::async_connect(socket_, endpoints, use_tuple);
    if (connect_ec) co_return report("connect_failed", "cannot connect to " + server_text(), connect_ec);
    peer_ = peer;
    co_return std::nullopt;
  }

  asio::awaitable<std::optional<handshake_error>> send(const std::vector<std::uint8_t>& frame, std::string_view what) {
    const asio::const_buffer data = asio::buffer(frame);
    auto [write_ec, written] = co_await asio::async_write(socket_, data, use_tuple);
    if (write_ec)
      co_return report("connect_failed", "cannot send " + std::string(what) + " to " + server_text(), write_ec);
    co_return std::nullopt;
  }

  // Reads exactly one frame: a reader of replies never asks for a byte of the next frame.
  asio::awaitable<std::optional<handshake_error>> read_frame(libchat::tcrp_reader& reader) {
    std::size_t have = 0;
    while (reader.state() == libchat::tcrp_reader::status::need_more) {
      const auto space = reader.prepare();
      const asio::mutable_buffer into(space.data(), space.size());
      auto [ec, n] = co_await socket_.async_read_some(into, use_tuple);
      if (ec == asio::error::eof && !timed_out_) {
        co_return network_error("closed", "the server " + server_text() + " closed the connection " +
                                              (have == 0 ? "without replying" : "in the middle of a reply"));
      }
      if (ec) co_return report("closed", "the connection to " + server_text() + " failed", ec);
      have += n;
      reader.commit(n);
    }
    if (reader.state() == libchat::tcrp_reader::status::failed)
      co_return bad_reply("malformed frame: " + reader.error().message());
    co_return std::nullopt;
  }

  // The server's replies carry the request's operation and room name; only a state-1 error reply
  // may carry an empty name (the server could not read ours).
  std::optional<handshake_error> check_echo(const libchat::tcrp_reader& reader, bool state1_error) const {
    if (reader.header()->operation != static_cast<std::uint8_t>(request_.op))
      return bad_reply("the reply is for another operation");
    if (reader.room() != request_.room && !(state1_error && reader.room().empty()))
      return bad_reply("the reply is for another room");
    return std::nullopt;
  }

  handshake_error bad_reply(std::string_view what) const {
    return network_error("bad_reply",
                         "the server " + server_text() + " sent a malformed reply (" + std::string(what) + ")");
  }

  // A reply that does not parse, or (encrypted) does not open with the handshake's keys.
  handshake_error unreadable(std::string_view what, boost::system::error_code ec) const {
    if (ec == libchat::errc::bad_handshake)
      return network_error("bad_handshake", "the server's reply could not be authenticated: the " + std::string(what) +
                                                " from " + server_text() +
                                                " was not sealed by the holder of the server's key, or was altered on "
                                                "the way");
    return bad_reply("unreadable " + std::string(what) + ": " + ec.message());
  }

  static handshake_error refused(const libchat::error_response& r) {
    return {handshake_error::kind::refused, r.error, std::string(libchat::wire_name(r.error)), r.message};
  }

  const handshake_request& request_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  asio::steady_timer deadline_;
  tcp::endpoint peer_;
  bool timed_out_ = false;
};

template <class Outcome>
Outcome run_exchange(asio::io_context& io, const handshake_request& request,
                     asio::awaitable<Outcome> (exchange::*talk)()) {
  exchange ex(io, request);
  std::optional<Outcome> outcome;
  asio::co_spawn(io, ex.run(talk), [&outcome](std::exception_ptr e, Outcome result) {
    if (e) std::rethrow_exception(e);  // only a bug (or bad_alloc) gets here
    outcome = std::move(result);
  });
  io.run();
  io.restart();
  return std::move(*outcome);
}

}  // namespace

handshake_outcome run_handshake(asio::io_context& io, const handshake_request& request) {
  return run_exchange(io, request, &exchange::room_talk);
}

key_outcome fetch_server_key(asio::io_context& io, const handshake_request& request) {
  return run_exchange(io, request, &exchange::key_talk);
}

}  // namespace chat_cli
