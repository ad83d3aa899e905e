// Room passwords: only a salted scrypt hash is kept, with its parameters, so that the cost can be
// raised later without invalidating rooms. Hashing is slow on purpose (about 134 ms at the
// default cost on a 2-core machine): callers run it off their I/O threads.
#pragma once

#include "libchat/export.hpp"
#include "libchat/random.hpp"

#include <array>
#include <cstdint>
#include <string_view>

namespace libchat {

struct password_params {
  std::uint8_t log2_cost = 15;  ///< scrypt N = 2^log2_cost
  std::uint32_t block_size = 8;  ///< scrypt r
  std::uint32_t parallelism = 1; ///< scrypt p
};

struct password_hash {
  password_params params;
  std::array<std::uint8_t, 16> salt{};
  std::array<std::uint8_t, 32> key{};
};

/// Hashes with a fresh salt from `random`. Thread-safe with system_random().
LIBCHAT_EXPORT password_hash hash_password(std::string_view password, const password_params& params,
                                           random_source& random = system_random());
/// Recomputes with the stored salt and parameters and compares in constant time. Thread-safe.
LIBCHAT_EXPORT bool verify_password(std::string_view password, const password_hash& stored);

}  // namespace libchat
