// The UDP chat datagrams.
//
//   client → server (≤ 4096 bytes):  RoomNameSize u8 | TokenSize u8 | room | token | message
//   server → client (≤ 4094 bytes):  SenderNameSize u8 | sender | text
//
// Decoders return views into the caller's buffer; encoders write into a buffer the caller owns
// and return the length. Neither allocates. docs/protocol.md is the normative description.
#pragma once

#include "libchat/bytes.hpp"
#include "libchat/error.hpp"
#include "libchat/export.hpp"
#include "libchat/limits.hpp"

#include <boost/system/result.hpp>

#include <string_view>

namespace libchat {

/// TokenSize of a sealed datagram: the session id (docs/protocol.md §12.4; tokens are longer).
inline constexpr std::size_t sealed_token_size = 8;

struct client_datagram {
  /// TokenSize 8: an encrypted session's datagram (session id, counter, ciphertext and tag);
  /// otherwise a plaintext one with its token.
  bool sealed = false;
  std::string_view room;
  std::string_view token;  ///< a token, or for a sealed datagram the 8-byte session id
  byte_view message;       ///< for a sealed datagram: counter ‖ ciphertext ‖ tag
  byte_view header;        ///< every byte before the message (the associated data of a sealed one)
};

/// What a chat message is, by its first byte.
enum class message_kind : std::uint8_t {
  keepalive,  ///< empty
  control,    ///< 0x00 then a JSON object
  chat,       ///< UTF-8 text
};

inline message_kind classify_message(byte_view message) noexcept {
  if (message.empty()) return message_kind::keepalive;
  return message[0] == control_marker ? message_kind::control : message_kind::chat;
}

/// Splits a client datagram and says whether it is sealed. Fails with oversize (over 4096 bytes) or malformed (shorter than its
/// length fields say, or a zero RoomNameSize or TokenSize). Does not check the text.
LIBCHAT_EXPORT boost::system::result<client_datagram> decode_client_datagram(byte_view datagram) noexcept;

/// Writes a client datagram into `out`. Fails with oversize when it would exceed 4096 bytes or
/// `out`, and with malformed when room or token is empty or longer than 255 bytes.
LIBCHAT_EXPORT boost::system::result<std::size_t> encode_client_datagram(std::string_view room, std::string_view token,
                                                                         byte_view message,
                                                                         mutable_byte_view out) noexcept;

struct server_datagram {
  std::string_view sender;  ///< empty for a server notice
  byte_view text;

  bool is_notice() const noexcept { return sender.empty(); }
};

/// Splits a server datagram. Fails with oversize (over 4094 bytes) or malformed.
LIBCHAT_EXPORT boost::system::result<server_datagram> decode_server_datagram(byte_view datagram) noexcept;

/// Writes a server datagram (an empty sender makes a notice). Fails with too_long when it would
/// exceed 4094 bytes or `out`. Precondition: sender.size() <= 255.
LIBCHAT_EXPORT boost::system::result<std::size_t> encode_server_datagram(std::string_view sender, byte_view text,
                                                                         mutable_byte_view out) noexcept;

/// Longest chat text a sender with a username of `sender_bytes` bytes can have relayed.
constexpr std::size_t max_text_bytes(std::size_t sender_bytes) noexcept {
  return max_server_datagram - 1 - sender_bytes;
}

}  // namespace libchat
