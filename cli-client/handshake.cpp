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

class exchange {
 public:
  exchange(asio::io_context& io, const handshake_request& request)
      : request_(request), resolver_(io), socket_(io), deadline_(io) {}

  asio::awaitable<handshake_outcome> run() {
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
    handshake_outcome outcome = co_await talk();
    deadline_.cancel();
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    co_return outcome;
  }

 private:
  std::string server_text() const { return request_.host + ":" + std::to_string(request_.port); }

  handshake_error report(std::string_view code, std::string_view what, boost::system::error_code ec) {
    if (timed_out_)
      return network_error("timeout", "the handshake with " + server_text() + " timed out after " +
                                          std::to_string(request_.timeout.count()) + " s");
    return network_error(std::string(code), std::string(what) + ": " + ec.message());
  }

  asio::awaitable<handshake_outcome> talk() {
    // GCC 12 can destroy a temporary inside a co_await expression twice: name every argument.
    const std::string service = std::to_string(request_.port);
    auto [resolve_ec, endpoints] =
        co_await resolver_.async_resolve(request_.host, service, tcp::resolver::numeric_service, use_tuple);
    if (resolve_ec) co_return report("connect_failed", "cannot resolve " + request_.host, resolve_ec);
    auto [connect_ec, peer] = co_await asio::async_connect(socket_, endpoints, use_tuple);
    if (connect_ec) co_return report("connect_failed", "cannot connect to " + server_text(), connect_ec);

    const auto frame = libchat::encode_frame(static_cast<std::uint8_t>(request_.op), libchat::frame_state::request,
                                             request_.room, libchat::encode_room_request(request_.payload));
    auto [write_ec, written] = co_await asio::async_write(socket_, asio::buffer(frame), use_tuple);
    if (write_ec) co_return report("connect_failed", "cannot send the request to " + server_text(), write_ec);

    // State 1 first: 202 (go on) or an error. Then state 2: the grant, or a late error.
    bool accepted = false;
    for (;;) {
      libchat::tcrp_reader reader(libchat::tcrp_direction::to_client, max_reply_payload);
      if (auto failure = co_await read_frame(reader)) co_return *failure;
      const auto state = static_cast<libchat::frame_state>(reader.header()->state);
      if (state == libchat::frame_state::response) {
        if (accepted) co_return bad_reply("a second response arrived");
        auto response = libchat::parse_response(reader.payload());
        if (!response) co_return bad_reply("unreadable response: " + response.error().message());
        auto* refusal = std::get_if<libchat::error_response>(&*response);
        if (auto bad = check_echo(reader, refusal != nullptr)) co_return *bad;
        if (refusal) co_return refused(*refusal);
        accepted = true;
        continue;
      }
      if (!accepted) co_return bad_reply("a completion arrived before the response");
      // A request can still fail after its 202 (a wrong password is found only after hashing),
      // so the completion may be an error too.
      auto final_reply = libchat::parse_final_response(reader.payload());
      if (!final_reply) co_return bad_reply("unreadable completion: " + final_reply.error().message());
      if (auto bad = check_echo(reader, false)) co_return *bad;
      if (auto* refusal = std::get_if<libchat::error_response>(&*final_reply)) co_return refused(*refusal);
      const auto& completion = std::get<libchat::completion_response>(*final_reply);
      session_grant grant;
      grant.token = completion.token;
      grant.udp_endpoint = asio::ip::udp::endpoint(peer.address(), completion.udp_port);
      grant.host = completion.host;
      grant.created = completion.created;
      co_return grant;
    }
  }

  // Reads exactly one frame: a reader of replies never asks for a byte of the next frame.
  asio::awaitable<std::optional<handshake_error>> read_frame(libchat::tcrp_reader& reader) {
    std::size_t have = 0;
    while (reader.state() == libchat::tcrp_reader::status::need_more) {
      const auto space = reader.prepare();
      auto [ec, n] = co_await socket_.async_read_some(asio::buffer(space.data(), space.size()), use_tuple);
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

  static handshake_error refused(const libchat::error_response& r) {
    return {handshake_error::kind::refused, r.error, std::string(libchat::wire_name(r.error)), r.message};
  }

  const handshake_request& request_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  asio::steady_timer deadline_;
  bool timed_out_ = false;
};

}  // namespace

handshake_outcome run_handshake(asio::io_context& io, const handshake_request& request) {
  exchange ex(io, request);
  std::optional<handshake_outcome> outcome;
  asio::co_spawn(io, ex.run(), [&outcome](std::exception_ptr e, handshake_outcome result) {
    if (e) std::rethrow_exception(e);  // only a bug (or bad_alloc) gets here
    outcome = std::move(result);
  });
  io.run();
  io.restart();
  return std::move(*outcome);
}

}  // namespace chat_cli
