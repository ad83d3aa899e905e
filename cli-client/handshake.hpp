// The TCRP exchange over TCP: connect, send the create/join request, read the server's state-1
// response and state-2 completion, close. Framing and payloads are libchat's; this file only
// moves bytes and bounds the whole exchange with one deadline.
#pragma once

#include <libchat/error.hpp>
#include <libchat/handshake.hpp>
#include <libchat/tcrp.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <chrono>
#include <string>
#include <variant>

namespace chat_cli {

struct handshake_request {
  std::string host;
  std::uint16_t port = 0;
  libchat::operation op = libchat::operation::create_room;
  std::string room;
  libchat::room_request payload;
  std::chrono::seconds timeout{5};  ///< for the whole exchange, from the start of the resolve
};

/// What a successful handshake grants: a token for the room, and where to send datagrams (the
/// address the TCP connection reached, with the completion's udp_port).
struct session_grant {
  std::string token;
  boost::asio::ip::udp::endpoint udp_endpoint;
  bool host = false;
  bool created = false;
};

struct handshake_error {
  enum class kind {
    refused,  ///< the server answered with an error: `refusal` and its `message`
    network,  ///< no usable answer: `code` names what failed, `message` says it for a person
  };
  kind what = kind::network;
  libchat::tcrp_error refusal = libchat::tcrp_error::internal_error;
  std::string code;  ///< network: connect_failed, timeout, closed, bad_reply
  std::string message;
};

using handshake_outcome = std::variant<session_grant, handshake_error>;

/// Runs the exchange on `io` (which must not be running) and returns when it is over. Never
/// throws for network or protocol failures: they come back as a handshake_error.
handshake_outcome run_handshake(boost::asio::io_context& io, const handshake_request& request);

}  // namespace chat_cli
