// The TCRP exchanges over TCP, each on a connection of its own and bounded by one deadline:
//  - asking for the server's public key (operation 3): one request, one state-1 answer;
//  - create/join: send the request, read the server's state-1 response and state-2 completion.
// Encrypted (the default), the request is sealed to the server's key and the replies must open
// with the handshake's keys; the completion yields the session's datagram channel. Every rule is
// libchat::client_exchange's; this file connects, moves bytes and keeps the deadline.
#pragma once

#include <libchat/error.hpp>
#include <libchat/handshake.hpp>
#include <libchat/secure_channel.hpp>
#include <libchat/secure_handshake.hpp>
#include <libchat/tcrp.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <variant>

namespace chat_cli {

struct handshake_request {
  std::string host;
  std::uint16_t port = 0;
  libchat::operation op = libchat::operation::create_room;
  std::string room;
  libchat::room_request payload;
  std::chrono::seconds timeout{5};  ///< for each exchange as a whole, from the start of the resolve
  /// The server's key, already checked against the pin: the exchange is encrypted to it. Unset:
  /// the plaintext protocol (--insecure).
  std::optional<libchat::public_key> server_key;
};

/// What a successful handshake grants: a token for the room, and where to send datagrams (the
/// completion's udp_host, or else the address the TCP connection reached, with its udp_port).
struct session_grant {
  std::string token;  ///< what plaintext datagrams carry (an encrypted session sends its id instead)
  boost::asio::ip::udp::endpoint udp_endpoint;
  bool host = false;
  bool created = false;
  /// Encrypted sessions: seals every datagram we send, opens every one we receive. Null when the
  /// session is plaintext.
  std::unique_ptr<libchat::secure_channel> channel;
  /// Encrypted sessions during a key rotation: the next key, from the sealed completion.
  std::optional<libchat::public_key> next_key;
};

struct handshake_error {
  enum class kind {
    refused,  ///< the server answered with an error: `refusal` and its `message`
    network,  ///< no usable answer: `code` names what failed, `message` says it for a person
  };
  kind what = kind::network;
  libchat::tcrp_error refusal = libchat::tcrp_error::internal_error;
  /// network: connect_failed, timeout, closed, bad_reply, bad_handshake (a reply that did not
  /// authenticate); refused: the wire name, or no_server_key (operation 3 refused: an old server)
  std::string code;
  std::string message;
  /// A plaintext error to a sealed request (or to the key request): anyone on the path could have
  /// sent it, so it must not be taken as advice to weaken anything.
  bool unauthenticated = false;
};

using handshake_outcome = std::variant<session_grant, handshake_error>;

/// Runs the exchange on `io` (which must not be running) and returns when it is over. Never
/// throws for network or protocol failures: they come back as a handshake_error.
handshake_outcome run_handshake(boost::asio::io_context& io, const handshake_request& request);

/// Operation 3's answer, and the address it came from (what the host name resolved to).
struct fetched_key {
  libchat::public_key key{};
  boost::asio::ip::address address;
};

using key_outcome = std::variant<fetched_key, handshake_error>;

/// Asks the server for its public key (operation 3) on a connection of its own; uses the
/// request's host, port and timeout. The key is not checked against any pin here.
key_outcome fetch_server_key(boost::asio::io_context& io, const handshake_request& request);

}  // namespace chat_cli
