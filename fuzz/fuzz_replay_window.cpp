// fuzz_replay_window: the anti-replay window of sealed datagrams (libchat::replay_window),
// differential against a model that remembers every counter it accepted (a std::set) and the
// highest one.
//
// Input: a program read from the front (fuzz::byte_reader), one datagram counter at a time: a
// byte whose low bits pick how the counter is made (just above the highest, just below it by up to
// 65535, a raw 64-bit value, a counter accepted before, the exact edge of the window, or near
// 2^64) and whose bit 7 says whether the datagram "verifies" (only then is it accepted, as the
// channel does after the AEAD tag checks out).
// Oracles: check() is true exactly when the model has not seen the counter and the counter is not
// `size` or more behind the highest accepted one; check() alone (a forged datagram) never changes
// what later checks say; a counter accepted once is refused ever after.
#include "common.hpp"

#include "libchat/replay_window.hpp"

#include <limits>
#include <set>

namespace {

struct model {
  std::set<std::uint64_t> seen;
  std::uint64_t highest = 0;
  bool any = false;

  bool fresh(std::uint64_t c) const {
    if (seen.contains(c)) return false;
    return !any || c > highest || highest - c < libchat::replay_window::size;
  }
};

std::uint64_t u64(fuzz::byte_reader& in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in.u8();
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::byte_reader in(libchat::byte_view(data, size));
  libchat::replay_window window;
  model m;
  std::vector<std::uint64_t> accepted;
  for (int steps = 0; steps < 2000 && !in.empty(); ++steps) {
    const std::uint8_t op = in.u8();
    const bool verifies = (op & 0x80) != 0;
    std::uint64_t c = 0;
    switch (op % 6) {
      case 0: c = m.highest + 1 + in.u8(); break;
      case 1: c = m.highest - in.u16(); break;
      case 2: c = u64(in); break;
      case 3: c = accepted.empty() ? 0 : accepted[in.below(accepted.size())]; break;
      case 4: c = m.highest - libchat::replay_window::size + (in.u8() % 3) - 1; break;  // the edge
      default: c = std::numeric_limits<std::uint64_t>::max() - in.u8(); break;
    }
    const bool expected = m.fresh(c);
    const bool got = window.check(c);
    FUZZ_CHECK(got == expected, "check(" + std::to_string(c) + ") = " + std::to_string(got) + ", model " +
                                    std::to_string(expected) + " (highest " + std::to_string(m.highest) + ")");
    if (got && verifies) {
      window.accept(c);
      m.seen.insert(c);
      accepted.push_back(c);
      if (!m.any || c > m.highest) m.highest = c;
      m.any = true;
      FUZZ_CHECK(!window.check(c), "a counter accepted is not refused at once: " + std::to_string(c));
    }
  }
  // Everything accepted stays refused.
  for (std::uint64_t c : accepted) FUZZ_CHECK(!window.check(c), "a replay of " + std::to_string(c) + " was accepted");
  return 0;
}
