#include "stamp.hpp"

namespace chat_bench {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

void put_hex(std::uint64_t value, std::span<char> out) noexcept {
  for (std::size_t i = out.size(); i-- > 0;) {
    out[i] = hex_digits[value & 0xf];
    value >>= 4;
  }
}

bool get_hex(std::span<const char> in, std::uint64_t& value) noexcept {
  std::uint64_t v = 0;
  for (const char c : in) {
    unsigned digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<unsigned>(c - 'a' + 10);
    } else {
      return false;
    }
    v = (v << 4) | digit;
  }
  value = v;
  return true;
}

}  // namespace

void write_filler(std::span<char> out) noexcept {
  for (std::size_t i = stamp_bytes; i < out.size(); ++i) out[i] = static_cast<char>('a' + (i % 26));
}

void write_stamp(const stamp& s, std::span<char> out) noexcept {
  put_hex(s.sent_ns, out.subspan(0, 16));
  put_hex(s.sender, out.subspan(16, 8));
  put_hex(s.epoch, out.subspan(24, 8));
}

std::optional<stamp> read_stamp(std::span<const char> text) noexcept {
  if (text.size() < stamp_bytes) return std::nullopt;
  std::uint64_t sent = 0;
  std::uint64_t sender = 0;
  std::uint64_t epoch = 0;
  if (!get_hex(text.subspan(0, 16), sent) || !get_hex(text.subspan(16, 8), sender) ||
      !get_hex(text.subspan(24, 8), epoch)) {
    return std::nullopt;
  }
  return stamp{sent, static_cast<std::uint32_t>(sender), static_cast<std::uint32_t>(epoch)};
}

}  // namespace chat_bench
