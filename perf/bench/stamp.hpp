// The chat text that chat-bench sends: a 32-character stamp, then filler up to the message size.
//
//   0..15   send time, CLOCK_MONOTONIC ns, 16 lower-case hex digits
//   16..23  sender's member id, 8 hex digits
//   24..31  epoch (the phase the message belongs to), 8 hex digits
//   32..    filler: 'a'..'z' repeated
//
// Plain ASCII, so it is valid UTF-8 chat text and never starts with the control marker 0x00.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace chat_bench {

inline constexpr std::size_t stamp_bytes = 32;

struct stamp {
  std::uint64_t sent_ns = 0;
  std::uint32_t sender = 0;
  std::uint32_t epoch = 0;
};

/// Fills `out` (at least stamp_bytes long) with the filler pattern after the stamp position.
void write_filler(std::span<char> out) noexcept;
/// Overwrites the first stamp_bytes of `out`. Precondition: out.size() >= stamp_bytes.
void write_stamp(const stamp& s, std::span<char> out) noexcept;
/// Reads a stamp from received text; nullopt when the text is too short or not hex.
std::optional<stamp> read_stamp(std::span<const char> text) noexcept;

}  // namespace chat_bench
