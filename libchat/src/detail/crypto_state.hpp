// Private to libchat: the state behind secure_channel, built by the handshake from key material
// that never leaves SecByteBlock.
#pragma once

#include "libchat/secure_channel.hpp"

#include <cryptopp/aes.h>
#include <cryptopp/gcm.h>
#include <cryptopp/secblock.h>

namespace libchat {

struct secure_channel::state {
  channel_role role;
  std::uint64_t session_id = 0;
  // Only the raw keys are kept per session; each datagram keys a per-thread cipher object
  // (secure_channel.cpp). Crypto++'s keyed GCM objects take ~5.5 KB of heap each, which at two
  // per member was 11 KB per member; re-keying costs ~0.23 us per datagram on AES-NI hardware.
  CryptoPP::FixedSizeSecBlock<CryptoPP::byte, 32> send_key;
  CryptoPP::FixedSizeSecBlock<CryptoPP::byte, 32> receive_key;
  std::uint64_t next_send = 0;
  replay_window window;
  std::uint64_t auth_failures = 0;
  bool last_opened_newest = false;
};

/// Builds channels for the handshake code (a friend of secure_channel).
class channel_factory {
 public:
  /// `send_key` seals what this side sends; `receive_key` opens what it receives.
  static std::unique_ptr<secure_channel> make(channel_role role, std::uint64_t session_id,
                                              const CryptoPP::SecByteBlock& send_key,
                                              const CryptoPP::SecByteBlock& receive_key);
};

/// The 12-byte AES-GCM nonce for a counter: four zero bytes, then the counter big-endian.
void make_nonce(std::uint64_t counter, std::uint8_t (&nonce)[12]) noexcept;

}  // namespace libchat
