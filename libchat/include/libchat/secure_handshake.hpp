// Encrypted sessions: the server's static X25519 key, and the TCRP handshake that encrypts the
// request to it and derives one datagram key per direction (the Noise NK pattern: the client knows
// the server's static key; both sides contribute an ephemeral key, so that a later leak of the
// server's static key does not open recorded sessions). docs/protocol.md §12 is the normative
// description: key schedule, labels and payloads.
#pragma once

#include "libchat/bytes.hpp"
#include "libchat/error.hpp"
#include "libchat/export.hpp"
#include "libchat/handshake.hpp"
#include "libchat/random.hpp"
#include "libchat/secure_channel.hpp"

#include <boost/system/result.hpp>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace libchat {

inline constexpr std::size_t x25519_key_bytes = 32;
using public_key = std::array<std::uint8_t, x25519_key_bytes>;

/// The protocol name hashed first into every transcript; a change here is a new protocol.
inline constexpr std::string_view handshake_protocol_name = "libchat/1 Noise_NK_25519_AESGCM_SHA256";

/// "SHA256:" and the unpadded base64 (standard alphabet, as OpenSSH prints it) of SHA-256(key).
LIBCHAT_EXPORT std::string key_fingerprint(const public_key& key);

/// A public key as `b64u` text (operation 3's "key", the completion's "next_key"): nullopt unless
/// it is 32 bytes and not a small-order point.
LIBCHAT_EXPORT std::optional<public_key> usable_key_from_text(std::string_view text);

/// The payload of the server's answer to operation 3: {"status": 200, "key": …, "fingerprint": …}.
LIBCHAT_EXPORT std::string encode_server_key_response(const public_key& key);
/// Client side: the key from that answer. Fails with missing_field or wrong_field_type (a key that
/// is not 32 bytes of base64url, or a fingerprint that does not match the key), or weak_key (a
/// small-order point: nothing must be pinned or sealed to it).
LIBCHAT_EXPORT boost::system::result<public_key> parse_server_key_response(std::string_view payload);

/// The server's long-term X25519 key pair. The private half never leaves this object except
/// through save(), for the key file.
class LIBCHAT_EXPORT server_key {
 public:
  /// A fresh key pair: 32 bytes from `random`, clamped as RFC 7748 says.
  static server_key generate(random_source& random = system_random());
  /// Loads a private key (32 bytes); nullopt if it is not a usable X25519 key.
  static std::optional<server_key> from_private(byte_view private_key);
  ~server_key();
  server_key(server_key&&) noexcept;
  server_key& operator=(server_key&&) noexcept;

  const public_key& public_half() const noexcept;
  std::string fingerprint() const { return key_fingerprint(public_half()); }
  /// Writes the 32 private bytes (for the key file).
  void save(std::span<std::uint8_t, x25519_key_bytes> out) const noexcept;

 private:
  friend class server_handshake;
  struct impl;
  explicit server_key(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// True if a request payload is an encrypted one ({"e": …, "ct": …}) rather than plaintext JSON.
LIBCHAT_EXPORT bool is_sealed_request(std::string_view payload);

/// The server's half of one handshake.
class LIBCHAT_EXPORT server_handshake {
 public:
  /// `operation` and `room` are the request frame's; they are bound into the transcript.
  /// `ephemeral_private` fixes the server's ephemeral key (test vectors only).
  server_handshake(const server_key& key, std::uint8_t operation, std::string_view room,
                   std::optional<byte_view> ephemeral_private = std::nullopt);
  ~server_handshake();

  /// Decrypts the request. Fails with bad_handshake (not our format, wrong key length, a
  /// small-order key, a tag that does not verify), or the request JSON's own errors.
  boost::system::result<room_request> open_request(std::string_view payload);
  /// The client's ephemeral public key, once open_request verified the request: what the
  /// server's replay cache remembers.
  const public_key& client_ephemeral() const noexcept;
  /// The state-1 payload carrying `json` (a 202 or an error). Precondition: open_request succeeded.
  std::string seal_response(std::string_view json);
  /// The state-2 payload carrying `json`. Precondition: seal_response was called.
  std::string seal_completion(std::string_view json);
  /// The session's datagram channel, its keys updated every `key_datagrams` counters (the value
  /// the completion announces). Precondition: seal_response was called.
  std::unique_ptr<secure_channel> channel(std::uint64_t session_id,
                                          std::uint64_t key_datagrams = default_key_datagrams);
  /// The session's keys, to make its channel later (once the room assigned the session id) without
  /// holding on to this handshake. Precondition: seal_response was called.
  session_keys keys(std::uint64_t key_datagrams = default_key_datagrams) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The client's half of one handshake.
class LIBCHAT_EXPORT client_handshake {
 public:
  /// `server` is the server's static public key, already checked against the pin.
  /// `ephemeral_private` fixes the client's ephemeral key (test vectors only).
  client_handshake(const public_key& server, std::uint8_t operation, std::string_view room,
                   std::optional<byte_view> ephemeral_private = std::nullopt);
  ~client_handshake();

  /// The request payload: the request encrypted so that only the server can read it. Fails with
  /// weak_key, sealing nothing, when the server key is a small-order point.
  boost::system::result<std::string> seal_request(const room_request& request);
  /// Opens a state-1 payload. A plaintext error is accepted (the server could not read the
  /// request, so it could not encrypt); anything else must verify. Fails with bad_handshake.
  boost::system::result<std::variant<accepted_response, error_response>> open_response(std::string_view payload);
  /// Opens a state-2 payload. Fails with bad_handshake.
  boost::system::result<std::variant<completion_response, error_response>> open_completion(std::string_view payload);
  /// The session's datagram channel; `key_datagrams` is the completion's (default when absent).
  /// Precondition: open_completion succeeded.
  std::unique_ptr<secure_channel> channel(std::uint64_t session_id,
                                          std::uint64_t key_datagrams = default_key_datagrams);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace libchat
