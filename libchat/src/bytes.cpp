#include "libchat/bytes.hpp"

namespace libchat {

bool load_big_endian(byte_view in, std::uint64_t& out) noexcept {
  std::uint64_t value = 0;
  const std::size_t high = in.size() > 8 ? in.size() - 8 : 0;
  for (std::size_t i = 0; i < high; ++i) {
    if (in[i] != 0) return false;
  }
  for (std::size_t i = high; i < in.size(); ++i) value = (value << 8) | in[i];
  out = value;
  return true;
}

void store_big_endian(std::uint64_t value, mutable_byte_view out) noexcept {
  for (std::size_t i = out.size(); i-- > 0;) {
    out[i] = static_cast<std::uint8_t>(value & 0xff);
    value >>= 8;
  }
}

}  // namespace libchat
