// The datagram crypto of one encrypted session: AES-256-GCM under one key per direction, the
// 64-bit counter as the nonce, the clear header as associated data, and a replay window on the
// receiving side. Every `key_datagrams` counters both sides move to the direction's next key
// (k' = first half of HKDF(k, "", "libchat key update")), so no key seals more than that and a
// session never has to end for a spent key (docs/protocol.md §12.4). Keys come from a completed
// handshake (secure_handshake.hpp); a channel is never created from raw bytes outside libchat, so
// secrets stay in Crypto++'s SecByteBlock.
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
/// Datagrams one key seals before the key update, unless the completion says fewer: far below
/// AES-GCM's safety limit for datagrams of at most 4 KiB (RFC 8446 §5.5 reasoning).
inline constexpr std::uint64_t default_key_datagrams = std::uint64_t{1} << 26;
/// The fewest a server may set (for tests of the key update): more than the replay window, so a
/// counter still inside the window is at most one key behind the newest.
inline constexpr std::uint64_t min_key_datagrams = std::uint64_t{1} << 11;
static_assert(min_key_datagrams > replay_window::size);
/// A key-update interval both sides can use: a power of two from min_ to default_key_datagrams.
constexpr bool valid_key_datagrams(std::uint64_t n) noexcept {
  return n >= min_key_datagrams && n <= default_key_datagrams && (n & (n - 1)) == 0;
}

enum class channel_role : std::uint8_t { client, server };

class LIBCHAT_EXPORT secure_channel {
 public:
  ~secure_channel();
  secure_channel(const secure_channel&) = delete;
  secure_channel& operator=(const secure_channel&) = delete;
  /// Movable, so that a room can hold its members' channels inline (one pointer less to chase
  /// per datagram). A moved-from channel may only be destroyed or assigned to.
  secure_channel(secure_channel&&) noexcept;
  secure_channel& operator=(secure_channel&&) noexcept;

  channel_role role() const noexcept;
  /// The session id the server assigned (also the clear routing id in client datagrams).
  std::uint64_t session_id() const noexcept;
  /// Datagrams sealed so far (the next counter).
  std::uint64_t sent() const noexcept;
  /// Counters per key: the key moves on at every multiple of this.
  std::uint64_t key_datagrams() const noexcept;
  /// Key updates so far: of the sending key, and of the receiving key (moved by the first
  /// datagram under the next key that verified).
  std::uint64_t send_key_updates() const noexcept;
  std::uint64_t receive_key_updates() const noexcept;
  /// Datagrams that failed to open (bad tag) since the channel was made.
  std::uint64_t auth_failures() const noexcept;

  // Client side.
  /// Writes a sealed client datagram. Fails with oversize (over 4096 bytes or `out`),
  /// malformed (room name size) or key_limit (the 64-bit counter is used up: never in practice).
  boost::system::result<std::size_t> seal_client_datagram(std::string_view room, byte_view message,
                                                          mutable_byte_view out);
  /// Opens a server datagram into `out` (the plaintext server→client datagram). Fails with
  /// malformed (too short), replay, auth_failed, or key_limit (a counter past the next key).
  boost::system::result<std::size_t> open_server_datagram(byte_view datagram, mutable_byte_view out);

  // Server side.
  /// Opens the sealed part of a client datagram: `header` is everything up to and including the
  /// session id, `sealed` is counter ‖ ciphertext ‖ tag. Writes the message into `out`. Fails
  /// with malformed, replay, auth_failed or key_limit (a counter past the next key).
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
/// the room has assigned its session id. `key_datagrams` is the interval the completion announced.
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
