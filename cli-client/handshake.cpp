#include "handshake.hpp"

#include <libchat/client_exchange.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <exception>

namespace chat_cli {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

handshake_error network_error(std::string code, std::string message) {
  return {handshake_error::kind::network, libchat::tcrp_error::internal_error, std::move(code), std::move(message),
          false};
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

  // Operation 3: the server's key, which the caller then checks against its pin.
  asio::awaitable<key_outcome> key_talk() {
    libchat::client_exchange x(exchange_config(libchat::operation::server_key));
    asio::awaitable<std::optional<handshake_error>> talking = drive(x);
    if (auto failure = co_await std::move(talking)) co_return *failure;
    if (x.failure()) co_return from(*x.failure());
    co_return fetched_key{*x.key(), peer_.address()};
  }

  // Create or join: the request (sealed to the server's key unless plaintext was asked for),
  // then state 1 (202 or an error) and state 2 (the grant, or a late error).
  asio::awaitable<handshake_outcome> room_talk() {
    libchat::client_exchange x(exchange_config(request_.op));
    asio::awaitable<std::optional<handshake_error>> talking = drive(x);
    if (auto failure = co_await std::move(talking)) co_return *failure;
    if (x.failure()) co_return from(*x.failure());
    libchat::exchange_grant& granted = *x.grant();
    session_grant grant;
    grant.token = std::move(granted.token);
    // Cluster mode: the room lives on another node, whose address the completion names (parsed
    // and checked as an IP address by libchat already).
    auto udp_address = peer_.address();
    if (granted.udp_host) udp_address = asio::ip::make_address(*granted.udp_host);
    grant.udp_endpoint = asio::ip::udp::endpoint(udp_address, granted.udp_port);
    grant.host = granted.host;
    grant.created = granted.created;
    grant.channel = std::move(granted.channel);
    grant.next_key = granted.next_key;
    co_return grant;
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

  libchat::client_exchange_config exchange_config(libchat::operation op) const {
    libchat::client_exchange_config c;
    c.op = op;
    if (op != libchat::operation::server_key) {
      c.room = request_.room;
      c.request = request_.payload;
      c.server_key = request_.server_key;
      // The time the request is sealed at: the server refuses replays by it.
      c.now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    }
    c.server_name = server_text();
    return c;
  }

  // Connects, then carries out the exchange's writes and reads until it is done. Returns a
  // failure of the connection itself; the exchange's own outcome is in `x`.
  asio::awaitable<std::optional<handshake_error>> drive(libchat::client_exchange& x) {
    asio::awaitable<std::optional<handshake_error>> connecting = connect();
    if (auto failure = co_await std::move(connecting)) co_return *failure;
    libchat::client_action action = x.start();
    while (action.what != libchat::client_action::kind::done) {
      if (action.what == libchat::client_action::kind::write) {
        const asio::const_buffer data(action.bytes.data(), action.bytes.size());
        auto [ec, written] = co_await asio::async_write(socket_, data, use_tuple);
        if (ec) co_return report("connect_failed", "cannot send the request to " + server_text(), ec);
        action = x.on_written();
        continue;
      }
      const asio::mutable_buffer into(action.buffer.data(), action.buffer.size());
      auto [ec, n] = co_await socket_.async_read_some(into, use_tuple);
      if (ec == asio::error::eof && !timed_out_) {
        action = x.on_closed();
        continue;
      }
      if (ec) co_return report("closed", "the connection to " + server_text() + " failed", ec);
      action = x.on_read(n);
    }
    co_return std::nullopt;
  }

  static handshake_error from(const libchat::exchange_failure& f) {
    const bool refused = f.what == libchat::exchange_failure::kind::refused ||
                         f.what == libchat::exchange_failure::kind::no_server_key;
    return {refused ? handshake_error::kind::refused : handshake_error::kind::network, f.refusal,
            std::string(f.code()), f.message, f.unauthenticated};
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
