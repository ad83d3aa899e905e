// Where libchat's secrets come from: member tokens, password salts, key pairs. Everything that
// needs random bytes takes a random_source, so that a test or a fuzzer can pass a seeded one and
// replay a run byte for byte; the default, system_random(), is the kernel's CSPRNG.
#pragma once

#include "libchat/bytes.hpp"
#include "libchat/export.hpp"

namespace libchat {

class LIBCHAT_EXPORT random_source {
 public:
  /// Fills `out` with bytes an attacker cannot predict (or, in a test, with the seeded sequence).
  virtual void fill(mutable_byte_view out) = 0;

 protected:
  ~random_source() = default;
};

/// The operating system's CSPRNG (getrandom/urandom) on every call: no state, thread-safe.
LIBCHAT_EXPORT random_source& system_random() noexcept;

}  // namespace libchat
