// The datagram crypto of one encrypted session: AES-256-GCM under one key per direction, the
// 64-bit counter as the nonce, the clear header as associated data, and a replay window on the
// receiving side. Keys come from a completed handshake (secure_handshake.hpp); a channel is never
// created from raw bytes outside libchat, so secrets stay in Crypto++'s SecByteBlock.
//
//   client → server:  RoomNameSize | TokenSize=8 | room | session id (8) | counter (8) | sealed message
//   server → client:  counter (8) | sealed (SenderNameSize | sender | text)
//
// sealed x = AES-256-GCM(key, nonce = 0x00000000 ‖ counter (8, big-endian), ad, x) ‖ tag (16).
// Not thread-safe: the owner (a room, a client session) serialises calls.
#pragma once

#include "libchat/bytes.hpp"
#include "libchat/error.hpp"
#include "libchat/export.hpp"
#include "libchat/replay_window.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <memory>

namespace libchat {

inline constexpr std::size_t session_id_bytes = 8;
inline constexpr std::size_t counter_bytes = 8;
inline constexpr std::size_t aead_tag_bytes = 16;
/// Datagrams one key may seal before the session must be joined again: far below AES-GCM's
/// safety limit for datagrams of at most 4 KiB (RFC 8446 §5.5 reasoning), and never a wrap.
inline constexpr std::uint64_t max_datagrams_per_key = std::uint64_t{1} << 26;

enum class channel_role : std::uint8_t { client, server };

class LIBCHAT_EXPORT secure_channel {
 public:
  ~secure_channel();
  secure_channel(const secure_channel&) = delete;
  secure_channel& operator=(const secure_channel&) = delete;

  channel_role role() const noexcept;
  /// The session id the server assigned (also the clear routing id in client datagrams).
  std::uint64_t session_id() const noexcept;
  /// Datagrams sealed so far (the next counter).
  std::uint64_t sent() const noexcept;
  /// Datagrams that failed to open (bad tag) since the channel was made.
  std::uint64_t auth_failures() const noexcept;

  // Client side.
  /// Writes a sealed client datagram. Fails with oversize (over 4096 bytes or `out`),
  /// malformed (room name size) or key_limit.
  boost::system::result<std::size_t> seal_client_datagram(std::string_view room, byte_view message,
                                                          mutable_byte_view out);
  /// Opens a server datagram into `out` (the plaintext server→client datagram). Fails with
  /// malformed (too short), replay, or auth_failed.
  boost::system::result<std::size_t> open_server_datagram(byte_view datagram, mutable_byte_view out);

  // Server side.
  /// Opens the sealed part of a client datagram: `header` is everything up to and including the
  /// session id, `sealed` is counter ‖ ciphertext ‖ tag. Writes the message into `out`. Fails
  /// with malformed, replay, auth_failed or key_limit.
  boost::system::result<std::size_t> open_client_message(byte_view header, byte_view sealed, mutable_byte_view out);
  /// Whether the datagram open_client_message opened last (successfully) carried the highest
  /// counter so far: only such a datagram may move a member to a new port (roaming).
  bool last_opened_newest() const noexcept;
  /// Seals a server→client datagram (`plaintext` is SenderNameSize | sender | text). Fails with
  /// key_limit or oversize (`out` too small).
  boost::system::result<std::size_t> seal_server_datagram(byte_view plaintext, mutable_byte_view out);

 private:
  friend class channel_factory;
  struct state;
  explicit secure_channel(std::unique_ptr<state> s);
  std::unique_ptr<state> state_;
};

/// The two datagram keys of one server-side session, from a completed handshake: a small copyable
/// handle (the secrets stay in one SecByteBlock-backed object) that makes the session's channel once
/// the room has assigned its session id.
class LIBCHAT_EXPORT session_keys {
 public:
  std::unique_ptr<secure_channel> make_channel(std::uint64_t session_id) const;

 private:
  friend class server_handshake;
  struct keys;
  explicit session_keys(std::shared_ptr<const keys> k) : keys_(std::move(k)) {}
  std::shared_ptr<const keys> keys_;
};

/// Size of a sealed server datagram for a plaintext of `n` bytes.
constexpr std::size_t sealed_server_size(std::size_t n) noexcept { return counter_bytes + n + aead_tag_bytes; }

}  // namespace libchat
