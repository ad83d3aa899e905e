// Which member of a room a token index (or session id) names: the lookup every datagram does
// before anything else. A room of a few members (most rooms: 1:1 chats and small groups) scans a
// contiguous array of 8-byte ids, one or two cache lines; only a room past `small_room` members
// also keeps a hash map, built when it grows past that and dropped when it shrinks back to half.
// Positions mirror the room's member vector, which removes by moving its last member into the
// hole (erase_swap does the same).
#pragma once

#include "libchat/export.hpp"

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

namespace libchat {

class LIBCHAT_EXPORT token_index {
 public:
  /// Members up to which a lookup is a scan. Past it a scan would touch more lines than a hash.
  static constexpr std::size_t small_room = 16;

  /// The position of the member with token index `id`, if any.
  std::optional<std::uint32_t> find(std::uint64_t id) const noexcept;
  bool contains(std::uint64_t id) const noexcept { return find(id).has_value(); }
  /// Appends `id` at position size().
  void push_back(std::uint64_t id);
  /// Removes position `pos`, moving the last id into it (as the member vector does).
  void erase_swap(std::uint32_t pos);
  void clear() noexcept;
  std::size_t size() const noexcept { return ids_.size(); }
  /// Whether lookups go through the hash map (a room past small_room members).
  bool hashed() const noexcept { return !positions_.empty(); }

 private:
  std::vector<std::uint64_t> ids_;                              // ids_[position] = token index
  std::unordered_map<std::uint64_t, std::uint32_t> positions_;  // only while the room is large
};

}  // namespace libchat
