#include "libchat/token_index.hpp"

namespace libchat {

std::optional<std::uint32_t> token_index::find(std::uint64_t id) const noexcept {
  if (hashed()) {
    const auto found = positions_.find(id);
    if (found == positions_.end()) return std::nullopt;
    return found->second;
  }
  for (std::size_t i = 0; i < ids_.size(); ++i)
    if (ids_[i] == id) return static_cast<std::uint32_t>(i);
  return std::nullopt;
}

void token_index::push_back(std::uint64_t id) {
  ids_.push_back(id);
  if (hashed()) {
    positions_.emplace(id, static_cast<std::uint32_t>(ids_.size() - 1));
  } else if (ids_.size() > small_room) {
    positions_.reserve(ids_.size() * 2);
    for (std::size_t i = 0; i < ids_.size(); ++i) positions_.emplace(ids_[i], static_cast<std::uint32_t>(i));
  }
}

void token_index::erase_swap(std::uint32_t pos) {
  if (pos >= ids_.size()) return;
  if (hashed()) positions_.erase(ids_[pos]);
  if (pos + 1 != ids_.size()) {
    ids_[pos] = ids_.back();
    if (hashed()) positions_[ids_[pos]] = pos;
  }
  ids_.pop_back();
  // Back to scanning at half the threshold, so that a room near it does not rebuild on every join.
  if (hashed() && ids_.size() <= small_room / 2) positions_ = {};
}

void token_index::clear() noexcept {
  ids_.clear();
  positions_ = {};
}

}  // namespace libchat
