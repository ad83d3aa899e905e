// fuzz_sealed_datagram: opening sealed datagrams in both directions, with one fixed session.
//
// Input: the first byte picks the direction, the rest is a datagram. Oracles:
//   - nothing the fuzzer makes up opens (a success means a forgeable tag);
//   - failures are defined errors (malformed, oversize, replay, auth_failed, key_limit);
//   - a failed open leaves the replay window as it was: the session's next genuine datagram, with a
//     counter never used before, still opens.
#include "common.hpp"

#include "libchat/datagram.hpp"
#include "libchat/secure_handshake.hpp"

#include <array>
#include <memory>

namespace {

using libchat::errc;

struct session {
  std::unique_ptr<libchat::secure_channel> client, server;
};

session& fixed_session() {
  static session s = [] {
    std::array<std::uint8_t, 32> raw{};
    for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(0x10 + i);
    static const auto key = *libchat::server_key::from_private(raw);
    libchat::client_handshake c(key.public_half(), 1, "lobby");
    libchat::server_handshake srv(key, 1, "lobby");
    (void)srv.open_request(c.seal_request({"alice", std::nullopt}).value());
    (void)c.open_response(srv.seal_response(libchat::encode_accepted({"ok"})));
    (void)c.open_completion(srv.seal_completion(libchat::encode_completion({true, "t", 9000, true, 1})));
    return session{c.channel(1), srv.channel(1)};
  }();
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  auto& s = fixed_session();
  const libchat::byte_view datagram(data + 1, size - 1);
  std::array<std::uint8_t, libchat::max_client_datagram> out{};
  if (data[0] % 2 == 0) {
    const auto decoded = libchat::decode_client_datagram(datagram);
    if (decoded && decoded->token.size() == libchat::session_id_bytes) {
      const auto opened = s.server->open_client_message(decoded->header, decoded->message, out);
      FUZZ_CHECK(!opened, "a made-up client datagram opened: " + fuzz::hex(datagram));
      FUZZ_CHECK(fuzz::is_one_of(opened.error(), {errc::malformed, errc::oversize, errc::replay, errc::auth_failed,
                                                  errc::key_limit}),
                 fuzz::ec_text(opened.error()));
    }
    // The session still works: a genuine datagram opens.
    std::array<std::uint8_t, libchat::max_client_datagram> wire{};
    const auto n = s.client->seal_client_datagram("lobby", libchat::as_bytes("still here"), wire);
    FUZZ_CHECK(n.has_value(), "sealing a genuine datagram");
    const auto genuine = libchat::decode_client_datagram(libchat::byte_view(wire.data(), *n));
    FUZZ_CHECK(genuine.has_value(), "decoding a genuine datagram");
    const auto opened = s.server->open_client_message(genuine->header, genuine->message, out);
    FUZZ_CHECK(opened.has_value(), "a genuine datagram no longer opens after a forged one");
  } else {
    const auto opened = s.client->open_server_datagram(datagram, out);
    FUZZ_CHECK(!opened, "a made-up server datagram opened: " + fuzz::hex(datagram));
    // key_limit: a counter more than one key update ahead (docs/protocol.md §12.4).
    FUZZ_CHECK(fuzz::is_one_of(opened.error(),
                               {errc::malformed, errc::oversize, errc::replay, errc::auth_failed, errc::key_limit}),
               fuzz::ec_text(opened.error()));
  }
  return 0;
}
