// Shared pieces of the fuzz targets: a check that aborts (so that libFuzzer saves the input and the
// replay driver fails), a sequential reader of fuzz bytes for the operation programs, reference
// implementations of the UTF-8 and naming rules written independently of libchat/src/utf8.cpp,
// and a room_output that records everything in order.
#pragma once

#include "libchat/address.hpp"
#include "libchat/bytes.hpp"
#include "libchat/error.hpp"
#include "libchat/room_output.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace fuzz {

[[noreturn]] inline void fail(const char* file, int line, const char* condition, const std::string& detail) {
  std::fprintf(stderr, "\n==fuzz check failed== %s:%d: %s\n  %s\n", file, line, condition, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace fuzz

/// Checks an oracle; on failure prints where and why, then aborts (a finding).
#define FUZZ_CHECK(condition, detail)                                       \
  do {                                                                      \
    if (!(condition)) ::fuzz::fail(__FILE__, __LINE__, #condition, detail); \
  } while (0)

namespace fuzz {

using bytes = std::vector<std::uint8_t>;

inline std::string hex(libchat::byte_view b, std::size_t max = 64) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < b.size() && i < max; ++i) {
    s += digits[b[i] >> 4];
    s += digits[b[i] & 15];
  }
  if (b.size() > max) s += "...(" + std::to_string(b.size()) + " bytes)";
  return s;
}
inline std::string hex(std::string_view s, std::size_t max = 64) {
  return hex(libchat::as_bytes(s), max);
}

inline std::string ec_text(const boost::system::error_code& ec) {
  return std::string(ec.category().name()) + ":" + std::to_string(ec.value()) + " (" + ec.message() + ")";
}

/// True for an error of libchat's own category whose code is one of `allowed`.
inline bool is_one_of(const boost::system::error_code& ec, std::initializer_list<libchat::errc> allowed) {
  if (ec.category() != libchat::libchat_category()) return false;
  for (auto e : allowed)
    if (ec.value() == static_cast<int>(e)) return true;
  return false;
}

/// Reads an operation program from the front of the input, one field after another. Past the end
/// every read returns zero (and bytes() an empty span), so that every input is a valid program.
class byte_reader {
 public:
  explicit byte_reader(libchat::byte_view data) : data_(data) {}

  bool empty() const noexcept { return pos_ >= data_.size(); }
  std::uint8_t u8() noexcept { return empty() ? 0 : data_[pos_++]; }
  std::uint16_t u16() noexcept {
    const std::uint16_t hi = u8();
    return static_cast<std::uint16_t>((hi << 8) | u8());
  }
  /// A value in [0, n): one byte when n <= 256, two otherwise. n must be > 0.
  std::size_t below(std::size_t n) noexcept { return (n <= 256 ? u8() : u16()) % n; }
  bool flag() noexcept { return (u8() & 1) != 0; }
  /// Up to `n` bytes (fewer at the end of the input).
  libchat::byte_view bytes(std::size_t n) noexcept {
    const std::size_t k = std::min(n, data_.size() - std::min(pos_, data_.size()));
    const auto out = data_.subspan(std::min(pos_, data_.size()), k);
    pos_ += k;
    return out;
  }

 private:
  libchat::byte_view data_;
  std::size_t pos_ = 0;
};

// ---- Reference UTF-8 and names (RFC 3629), the textbook way ------------------------------------
//
// libchat validates with a table of allowed second-byte ranges per lead byte. This reference
// instead takes the sequence length from the lead byte's high bits, checks that every following
// byte is 10xxxxxx, assembles the code point, and then rejects what RFC 3629 forbids: a value
// that a shorter sequence could have encoded, a surrogate, or a value above U+10FFFF.

/// Decodes one code point at p[0..n); returns its length, or 0 if it is not well-formed.
inline std::size_t reference_decode(const std::uint8_t* p, std::size_t n, std::uint32_t& cp) noexcept {
  const std::uint8_t lead = p[0];
  std::size_t len;
  std::uint32_t value;
  if ((lead & 0x80) == 0x00) {
    cp = lead;
    return 1;
  } else if ((lead & 0xE0) == 0xC0) {
    len = 2;
    value = lead & 0x1Fu;
  } else if ((lead & 0xF0) == 0xE0) {
    len = 3;
    value = lead & 0x0Fu;
  } else if ((lead & 0xF8) == 0xF0) {
    len = 4;
    value = lead & 0x07u;
  } else {
    return 0;  // a continuation byte or 0xF8..0xFF as a lead
  }
  if (n < len) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((p[k] & 0xC0) != 0x80) return 0;
    value = (value << 6) | (p[k] & 0x3Fu);
  }
  static constexpr std::uint32_t shortest[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (value < shortest[len]) return 0;               // overlong
  if (value >= 0xD800 && value <= 0xDFFF) return 0;  // surrogate
  if (value > 0x10FFFF) return 0;                    // beyond Unicode
  cp = value;
  return len;
}

inline bool reference_valid_utf8(libchat::byte_view text) noexcept {
  for (std::size_t i = 0; i < text.size();) {
    std::uint32_t cp = 0;
    const std::size_t len = reference_decode(text.data() + i, text.size() - i, cp);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

/// The naming rule of docs/protocol.md §2, first rule broken scanning left to right (the length
/// rules first): 1–255 bytes, valid UTF-8, no C0, DEL or C1 control character.
inline boost::system::error_code reference_check_name(std::string_view name) noexcept {
  using libchat::errc;
  if (name.empty()) return errc::empty_name;
  if (name.size() > 255) return errc::name_too_long;
  const auto b = libchat::as_bytes(name);
  for (std::size_t i = 0; i < b.size();) {
    std::uint32_t cp = 0;
    const std::size_t len = reference_decode(b.data() + i, b.size() - i, cp);
    if (len == 0) return errc::invalid_utf8;
    if (cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F)) return errc::control_character;
    i += len;
  }
  return {};
}

// ---- A room_output that keeps everything, in order ----------------------------------------------

struct log_entry {
  bool is_send = false;
  libchat::peer_address to;          // send
  bytes datagram;                    // send
  libchat::room_event::kind what{};  // event
  std::string room, username, reason;
  libchat::peer_address endpoint;
  bool joined = false;
  std::string key;  // set when a test folds several entries into one comparable text
};

class recorder final : public libchat::room_output {
 public:
  void send(const libchat::peer_address& to, libchat::byte_view datagram) override {
    log_entry e;
    e.is_send = true;
    e.to = to;
    e.datagram.assign(datagram.begin(), datagram.end());
    log.push_back(std::move(e));
  }
  void on_event(const libchat::room_event& ev) override {
    log_entry e;
    e.what = ev.what;
    e.room = std::string(ev.room);
    e.username = std::string(ev.username);
    e.reason = std::string(ev.reason);
    e.endpoint = ev.endpoint;
    e.joined = ev.joined;
    log.push_back(std::move(e));
  }

  std::vector<log_entry> log;
};

}  // namespace fuzz
