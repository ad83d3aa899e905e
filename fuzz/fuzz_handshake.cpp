// fuzz_handshake: the encrypted handshake's parsers on both sides, with fixed keys.
//
// Input: the first byte picks the side, the rest is a payload. Oracles:
//   - server: open_request on anything fails with bad_handshake, or with the request JSON's own
//     errors only when the payload was sealed to this server's key (which the fuzzer cannot do
//     by chance: a success or a JSON error here means a forged or malleable ciphertext);
//   - client: open_response accepts an unsealed payload only as an error (never a 202), and
//     nothing sealed can verify; open_completion (after a genuine response) never verifies;
//   - key reply (operation 3): parse_server_key_response fails with a defined error, and a key it
//     accepts is one a request can be sealed to (never a small-order point).
#include "common.hpp"

#include "libchat/handshake.hpp"
#include "libchat/secure_handshake.hpp"

#include <array>
#include <variant>

namespace {

using libchat::errc;

// Not the shared vectors' key: the seeds taken from the vectors are well-formed but sealed to
// another server, so none of them may open here.
const libchat::server_key& fixed_key() {
  static const auto key = [] {
    std::array<std::uint8_t, 32> raw{};
    for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(0xa0 + i);
    return *libchat::server_key::from_private(raw);
  }();
  return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view payload(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto& key = fixed_key();
  switch (data[0] % 4) {
    case 0: {
      libchat::server_handshake server(key, 1, "lobby");
      const auto request = server.open_request(payload);
      FUZZ_CHECK(!request && fuzz::is_one_of(request.error(), {errc::bad_handshake}),
                 "a request the fuzzer made up opened: " + fuzz::hex(payload));
      break;
    }
    case 1: {
      libchat::client_handshake client(key.public_half(), 1, "lobby");
      (void)client.seal_request({"alice", std::nullopt}).value();
      const auto response = client.open_response(payload);
      if (response) {
        FUZZ_CHECK(std::holds_alternative<libchat::error_response>(*response),
                   "an unauthenticated 202 was believed: " + fuzz::hex(payload));
      } else {
        FUZZ_CHECK(fuzz::is_one_of(response.error(), {errc::bad_handshake}), fuzz::ec_text(response.error()));
      }
      break;
    }
    default: {
      // A genuine first round, then a made-up completion.
      libchat::client_handshake client(key.public_half(), 2, "lobby");
      libchat::server_handshake server(key, 2, "lobby");
      FUZZ_CHECK(server.open_request(client.seal_request({"bob", std::nullopt}).value()).has_value(), "genuine request");
      FUZZ_CHECK(client.open_response(server.seal_response(libchat::encode_accepted({"ok"}))).has_value(),
                 "genuine response");
      const auto completion = client.open_completion(payload);
      FUZZ_CHECK(!completion && fuzz::is_one_of(completion.error(), {errc::bad_handshake}),
                 "a made-up completion verified: " + fuzz::hex(payload));
      break;
    }
    case 3: {
      const auto parsed = libchat::parse_server_key_response(payload);
      if (!parsed) {
        FUZZ_CHECK(fuzz::is_one_of(parsed.error(), {errc::invalid_json, errc::not_an_object, errc::duplicate_key,
                                                     errc::missing_field, errc::wrong_field_type, errc::weak_key}),
                   fuzz::ec_text(parsed.error()));
        break;
      }
      libchat::client_handshake client(*parsed, 1, "lobby");
      FUZZ_CHECK(client.seal_request({"alice", std::nullopt}).has_value(),
                 "a key the key reply parser accepted cannot be sealed to: " + fuzz::hex(payload));
      break;
    }
  }
  return 0;
}
