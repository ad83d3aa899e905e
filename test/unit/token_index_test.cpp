// The member lookup of a room: a scan while the room is small, a hash map past small_room
// members, and the same answers either way (checked against a plain model through many joins and
// swap-removals that cross the threshold both ways).
#include "libchat/token_index.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <vector>

using libchat::token_index;

TEST_CASE("token index: finds members by token, small rooms by scanning, large ones hashed", "[room][token_index]") {
  token_index index;
  std::vector<std::uint64_t> model;  // model[position] = id, removed as the room removes
  std::mt19937_64 random(7);
  bool was_hashed = false, scanned_after_hashing = false;
  for (int step = 0; step < 20000; ++step) {
    // Grow towards 40 members and back, so the threshold is crossed many times.
    const bool grow = model.empty() || (step / 500) % 2 == 0 ? random() % 4 != 0 : random() % 4 == 0;
    if (grow && model.size() < 40) {
      const std::uint64_t id = random();
      index.push_back(id);
      model.push_back(id);
    } else if (!model.empty()) {
      const auto pos = static_cast<std::uint32_t>(random() % model.size());
      index.erase_swap(pos);
      model[pos] = model.back();
      model.pop_back();
    }
    REQUIRE(index.size() == model.size());
    was_hashed = was_hashed || index.hashed();
    scanned_after_hashing = scanned_after_hashing || (was_hashed && !index.hashed() && model.size() > 2);
    if (model.size() > token_index::small_room) REQUIRE(index.hashed());
    for (std::size_t i = 0; i < model.size(); ++i) REQUIRE(index.find(model[i]) == static_cast<std::uint32_t>(i));
    REQUIRE_FALSE(index.contains(random()));
  }
  CHECK(was_hashed);
  CHECK(scanned_after_hashing);
  index.clear();
  CHECK(index.size() == 0);
  CHECK_FALSE(index.hashed());
}
