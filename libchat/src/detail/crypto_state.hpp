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
  // One keyed cipher object per direction for the whole session: the AES key schedule and the
  // GHASH tables are computed once, never per datagram.
  CryptoPP::GCM<CryptoPP::AES>::Encryption sealer;
  CryptoPP::GCM<CryptoPP::AES>::Decryption opener;
  std::uint64_t next_send = 0;
  replay_window window;
  std::uint64_t auth_failures = 0;
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
