// The shape of a load: rooms × members per room.
#pragma once

#include <cstdint>
#include <string>

namespace chat_bench {

struct shape {
  std::uint32_t rooms = 5;
  std::uint32_t members = 3;  ///< per room, the host included

  std::uint64_t total() const noexcept { return static_cast<std::uint64_t>(rooms) * members; }
  std::string to_string() const { return std::to_string(rooms) + "x" + std::to_string(members); }
};

}  // namespace chat_bench
