#include "libchat/datagram.hpp"

#include <cstring>

namespace libchat {

boost::system::result<client_datagram> decode_client_datagram(byte_view d) noexcept {
  if (d.size() > max_client_datagram) return make_error_code(errc::oversize);
  if (d.size() < 2) return make_error_code(errc::malformed);
  const std::size_t room_size = d[0];
  const std::size_t token_size = d[1];
  if (room_size == 0 || token_size == 0 || 2 + room_size + token_size > d.size())
    return make_error_code(errc::malformed);
  client_datagram out;
  out.sealed = token_size == sealed_token_size;
  out.room = as_text(d.subspan(2, room_size));
  out.token = as_text(d.subspan(2 + room_size, token_size));
  out.message = d.subspan(2 + room_size + token_size);
  out.header = d.first(2 + room_size + token_size);
  return out;
}

boost::system::result<std::size_t> encode_client_datagram(std::string_view room, std::string_view token,
                                                          byte_view message, mutable_byte_view out) noexcept {
  if (room.empty() || room.size() > max_name_bytes || token.empty() || token.size() > max_token_bytes)
    return make_error_code(errc::malformed);
  const std::size_t size = 2 + room.size() + token.size() + message.size();
  if (size > max_client_datagram || size > out.size()) return make_error_code(errc::oversize);
  out[0] = static_cast<std::uint8_t>(room.size());
  out[1] = static_cast<std::uint8_t>(token.size());
  std::memcpy(out.data() + 2, room.data(), room.size());
  std::memcpy(out.data() + 2 + room.size(), token.data(), token.size());
  if (!message.empty()) std::memcpy(out.data() + 2 + room.size() + token.size(), message.data(), message.size());
  return size;
}

boost::system::result<server_datagram> decode_server_datagram(byte_view d) noexcept {
  if (d.size() > max_server_datagram) return make_error_code(errc::oversize);
  if (d.empty() || 1 + std::size_t{d[0]} > d.size()) return make_error_code(errc::malformed);
  server_datagram out;
  out.sender = as_text(d.subspan(1, d[0]));
  out.text = d.subspan(1 + std::size_t{d[0]});
  return out;
}

boost::system::result<std::size_t> encode_server_datagram(std::string_view sender, byte_view text,
                                                          mutable_byte_view out) noexcept {
  const std::size_t size = 1 + sender.size() + text.size();
  if (sender.size() > max_name_bytes || size > max_server_datagram || size > out.size())
    return make_error_code(errc::too_long);
  out[0] = static_cast<std::uint8_t>(sender.size());
  if (!sender.empty()) std::memcpy(out.data() + 1, sender.data(), sender.size());
  if (!text.empty()) std::memcpy(out.data() + 1 + sender.size(), text.data(), text.size());
  return size;
}

}  // namespace libchat
