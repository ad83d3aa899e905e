// Key updates of sealed datagrams (docs/protocol.md §12.4): every key_datagrams counters both
// sides move to the next key, so a session never ends for a spent key. The small interval the
// server may set (2^11) makes the updates quick to cross here.
#include "libchat/handshake.hpp"
#include "session_pair.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace libchat;
using chat_unit::session_pair;

namespace {
constexpr std::uint64_t interval = min_key_datagrams;
}

TEST_CASE("key update: a session crosses several key updates both ways and every datagram opens",
          "[secure][key_update]") {
  session_pair p(interval);
  REQUIRE(p.client_channel->key_datagrams() == interval);
  const std::uint64_t total = 3 * interval + 5;
  std::uint64_t client_to_server = 0, server_to_client = 0;
  for (std::uint64_t i = 0; i < total; ++i) {
    const std::string text = "m" + std::to_string(i);
    if (p.server_opens(p.client_datagram(text)) == boost::system::result<std::string>(text)) ++client_to_server;
    if (p.client_opens(p.server_datagram("\x01"
                                         "a" +
                                         text)) == boost::system::result<std::string>("\x01"
                                                                                      "a" +
                                                                                      text))
      ++server_to_client;
  }
  CHECK(client_to_server == total);
  CHECK(server_to_client == total);
  CHECK(p.client_channel->send_key_updates() == 3);
  CHECK(p.server_channel->receive_key_updates() == 3);
  CHECK(p.server_channel->send_key_updates() == 3);
  CHECK(p.client_channel->receive_key_updates() == 3);
}

TEST_CASE("key update: datagrams reordered across an update open under the key they were sealed with",
          "[secure][key_update]") {
  session_pair p(interval);
  std::vector<std::vector<std::uint8_t>> sealed;
  for (std::uint64_t i = 0; i < interval + 20; ++i) sealed.push_back(p.client_datagram("x"));
  // The newest first (the update), then the last ones of the old key, each once.
  for (std::uint64_t i = interval; i < interval + 20; ++i) CHECK(p.server_opens(sealed[i]).has_value());
  CHECK(p.server_channel->receive_key_updates() == 1);
  for (std::uint64_t i = interval - 20; i < interval; ++i) CHECK(p.server_opens(sealed[i]).has_value());
  CHECK(p.server_opens(sealed[interval - 1]).error() == make_error_code(errc::replay));
}

TEST_CASE("key update: a key is never used across the boundary", "[secure][key_update]") {
  // Two sessions from one handshake, one at the default interval: the datagram with counter
  // `interval` is sealed under the next key in one and under the first key in the other.
  session_pair p(interval);
  auto default_keys = p.client.channel(7);
  std::array<std::uint8_t, max_client_datagram> a{}, b{};
  std::size_t na = 0, nb = 0;
  for (std::uint64_t i = 0; i <= interval; ++i) {
    na = p.client_channel->seal_client_datagram("lobby", as_bytes("same"), a).value();
    nb = default_keys->seal_client_datagram("lobby", as_bytes("same"), b).value();
    if (i < interval) REQUIRE(std::equal(a.begin(), a.begin() + na, b.begin()));
  }
  REQUIRE(na == nb);
  CHECK_FALSE(std::equal(a.begin(), a.begin() + na, b.begin()));
}

TEST_CASE("key update: a counter more than one key ahead is refused until the key in between arrived",
          "[secure][key_update]") {
  session_pair p(interval);
  std::vector<std::vector<std::uint8_t>> sealed;
  for (std::uint64_t i = 0; i <= 2 * interval; ++i) sealed.push_back(p.client_datagram("x"));
  CHECK(p.server_opens(sealed[2 * interval]).error() == make_error_code(errc::key_limit));
  CHECK(p.server_channel->receive_key_updates() == 0);
  CHECK(p.server_opens(sealed[interval]).has_value());
  CHECK(p.server_opens(sealed[2 * interval]).has_value());
  CHECK(p.server_channel->receive_key_updates() == 2);
  // Two keys behind is older than the replay window.
  CHECK(p.server_opens(sealed[interval - 1]).error() == make_error_code(errc::replay));
}

TEST_CASE("key update: a forged datagram under the next key moves neither the key nor the window",
          "[secure][key_update]") {
  session_pair p(interval);
  std::vector<std::vector<std::uint8_t>> sealed;
  for (std::uint64_t i = 0; i <= interval; ++i) sealed.push_back(p.client_datagram("x"));
  auto forged = sealed[interval];
  forged.back() ^= 0x01;
  for (int i = 0; i < 100; ++i) CHECK(p.server_opens(forged).error() == make_error_code(errc::auth_failed));
  CHECK(p.server_channel->receive_key_updates() == 0);
  CHECK(p.server_opens(sealed[0]).has_value());
  CHECK(p.server_opens(sealed[interval]).has_value());
  CHECK(p.server_channel->receive_key_updates() == 1);
}

TEST_CASE("key update: the completion's key_datagrams is a usable interval or the reply is refused",
          "[secure][key_update][handshake]") {
  completion_response done{true, "t", 9000, true, 7};
  CHECK(encode_completion(done).find("key_datagrams") == std::string::npos);
  CHECK_FALSE(parse_completion(encode_completion(done)).value().key_datagrams);
  done.key_datagrams = 4096;
  CHECK(parse_completion(encode_completion(done)).value().key_datagrams == 4096u);
  for (const char* bad : {"0", "1000", "1024", "3000", "134217728", "-2048", "\"2048\"", "2048.5"}) {
    const std::string json =
        std::string(R"({"status":201,"token":"t","udp_port":9000,"host":true,"key_datagrams":)") + bad + "}";
    INFO(json);
    CHECK_FALSE(parse_completion(json).has_value());
  }
}

TEST_CASE("key update: a channel is never made with an interval both sides could not use", "[secure][key_update]") {
  session_pair p;
  CHECK(p.client_channel->key_datagrams() == default_key_datagrams);
  CHECK_THROWS_AS(p.server.channel(7, 1000), std::invalid_argument);
  CHECK_THROWS_AS(p.client.channel(7, default_key_datagrams * 2), std::invalid_argument);
  CHECK(valid_key_datagrams(min_key_datagrams));
  CHECK_FALSE(valid_key_datagrams(min_key_datagrams / 2));
}
