// Private to libchat: the state behind secure_channel, built by the handshake from key material
// that never leaves SecByteBlock.
#pragma once

#include "libchat/secure_channel.hpp"

#include <cryptopp/aes.h>
#include <cryptopp/gcm.h>
#include <cryptopp/secblock.h>

#include <boost/system/result.hpp>

namespace libchat {

struct LIBCHAT_NO_EXPORT secure_channel::state {
  channel_role role;
  std::uint64_t session_id = 0;
  // Only the raw keys are kept per session; each datagram keys a per-thread cipher object
  // (secure_channel.cpp). Crypto++'s keyed GCM objects take ~5.5 KB of heap each, which at two
  // per member was 11 KB per member; re-keying costs ~0.23 us per datagram on AES-NI hardware.
  using key = CryptoPP::FixedSizeSecBlock<CryptoPP::byte, 32>;
  key send_key;  ///< the key of counter next_send's epoch (next_send >> key_shift)
  // The receiving side holds the key of the newest counter that verified (receive_epoch), the one
  // before it (datagrams reordered across an update) and, once a datagram asked for it, the next.
  key receive_key;
  key receive_previous;
  key receive_next;
  bool has_next = false;
  std::uint8_t key_shift = 26;  ///< log2 of key_datagrams
  std::uint64_t receive_epoch = 0;
  std::uint64_t next_send = 0;
  replay_window window;
  std::uint64_t auth_failures = 0;
  bool last_opened_newest = false;

  /// The counter to seal next, moving send_key on at every multiple of key_datagrams; an error
  /// only when the 64-bit counter is used up.
  boost::system::result<std::uint64_t> take_send_counter();
  /// The key that opens `counter`, or null when the counter is more than one key ahead.
  const key* receive_key_for(std::uint64_t counter);
  /// After a datagram under `used` verified: a next key becomes the current one.
  void accept_receive_key(const key* used);
};

/// Builds channels for the handshake code (a friend of secure_channel).
class channel_factory {
 public:
  /// `send_key` seals what this side sends; `receive_key` opens what it receives; both move to
  /// their next key every `key_datagrams` counters (valid_key_datagrams, else invalid_argument).
  static std::unique_ptr<secure_channel> make(channel_role role, std::uint64_t session_id,
                                              const CryptoPP::SecByteBlock& send_key,
                                              const CryptoPP::SecByteBlock& receive_key,
                                              std::uint64_t key_datagrams = default_key_datagrams);
};

/// The 12-byte AES-GCM nonce for a counter: four zero bytes, then the counter big-endian.
void make_nonce(std::uint64_t counter, std::uint8_t (&nonce)[12]) noexcept;

/// The protocol's HKDF(salt, ikm, info) (docs/protocol.md §12.3): RFC 5869 with SHA-256, as many
/// bytes as `out` holds (64: two 32-byte halves). The handshake's mix and split and the datagram
/// keys' update are all this.
void protocol_hkdf(byte_view salt, byte_view ikm, std::string_view info, mutable_byte_view out);

}  // namespace libchat
