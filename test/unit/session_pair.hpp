// A completed encrypted handshake in memory, both sides, and the two datagram channels it made:
// the fixture of the sealed-datagram tests.
#pragma once

#include "libchat/datagram.hpp"
#include "libchat/secure_handshake.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <vector>

namespace chat_unit {

struct session_pair {
  libchat::server_key key = libchat::server_key::generate();
  libchat::client_handshake client{key.public_half(), 1, "lobby"};
  libchat::server_handshake server{key, 1, "lobby"};
  std::unique_ptr<libchat::secure_channel> client_channel;
  std::unique_ptr<libchat::secure_channel> server_channel;
  std::string request_payload;

  /// `key_datagrams`: the interval the completion announces (absent when the default).
  explicit session_pair(std::uint64_t key_datagrams = libchat::default_key_datagrams) {
    using namespace libchat;
    request_payload = client.seal_request({"alice", std::string("pw")}).value();
    REQUIRE(server.open_request(request_payload).has_value());
    REQUIRE(client.open_response(server.seal_response(encode_accepted({"ok"}))).has_value());
    completion_response done{true, "t", 9000, true, 7};
    if (key_datagrams != default_key_datagrams) done.key_datagrams = key_datagrams;
    auto opened = client.open_completion(server.seal_completion(encode_completion(done)));
    REQUIRE(opened.has_value());
    const auto announced = std::get<completion_response>(*opened).key_datagrams;
    client_channel = client.channel(7, announced.value_or(default_key_datagrams));
    server_channel = server.channel(7, key_datagrams);
  }

  std::vector<std::uint8_t> client_datagram(std::string_view message) {
    std::array<std::uint8_t, libchat::max_client_datagram> out{};
    auto n = client_channel->seal_client_datagram("lobby", libchat::as_bytes(message), out);
    REQUIRE(n.has_value());
    return {out.begin(), out.begin() + static_cast<std::ptrdiff_t>(*n)};
  }

  std::vector<std::uint8_t> server_datagram(std::string_view plaintext) {
    std::array<std::uint8_t, libchat::max_server_datagram + 32> out{};
    auto n = server_channel->seal_server_datagram(libchat::as_bytes(plaintext), out);
    REQUIRE(n.has_value());
    return {out.begin(), out.begin() + static_cast<std::ptrdiff_t>(*n)};
  }

  // What the server makes of a client datagram: the message, or the error.
  boost::system::result<std::string> server_opens(const std::vector<std::uint8_t>& datagram) {
    auto d = libchat::decode_client_datagram(datagram);
    if (!d) return d.error();
    std::array<std::uint8_t, libchat::max_client_datagram> out{};
    auto n = server_channel->open_client_message(d->header, d->message, out);
    if (!n) return n.error();
    return std::string(reinterpret_cast<const char*>(out.data()), *n);
  }

  // What the client makes of a server datagram: the plaintext, or the error.
  boost::system::result<std::string> client_opens(const std::vector<std::uint8_t>& datagram) {
    std::array<std::uint8_t, libchat::max_server_datagram + 32> out{};
    auto n = client_channel->open_server_datagram(datagram, out);
    if (!n) return n.error();
    return std::string(reinterpret_cast<const char*>(out.data()), *n);
  }
};

}  // namespace chat_unit
