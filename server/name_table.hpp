// Name → shared object, read on every datagram by every receiving thread: the room table's core.
// The names are split over `Shards` independent maps by their hash, each with its own lock on its
// own cache line, so two threads looking up different rooms touch no common line (one lock of
// one map was one line that every thread wrote, as a reader, for every datagram). Names are chosen
// by clients: SipHash-2-4 under a key drawn at start-up, so that nobody can pick names that land
// in one shard or one bucket (as WireGuard does for its peer table). The hash is computed once
// per lookup: it picks the shard and is handed to the map with the name.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chat_server {

/// The keyed hash of names: SipHash-2-4 (Aumasson and Bernstein), with a key from the OS CSPRNG
/// per process. Written out here because it runs for every datagram and Crypto++'s SipHash
/// object cost 78 ns per short name to set up and run, five times the function itself.
class name_hasher {
 public:
  name_hasher();
  explicit name_hasher(const std::array<std::uint8_t, 16>& key) noexcept;
  std::uint64_t operator()(std::string_view name) const noexcept;

 private:
  std::uint64_t k0_ = 0, k1_ = 0;
};

template <typename T, std::size_t Shards = 32>
class name_table {
  static_assert(Shards > 0 && (Shards & (Shards - 1)) == 0, "a power of two");

 public:
  enum class insert_result { inserted, exists, full };

  name_table() {
    for (shard& s : shards_) s.map = map_type(0, map_hash{&hasher_}, map_equal{});
  }
  // The maps' hashers point at this table's key.
  name_table(const name_table&) = delete;
  name_table& operator=(const name_table&) = delete;

  std::shared_ptr<T> find(std::string_view name) const {
    const hashed h{name, hasher_(name)};
    const shard& s = shard_of(h.hash);
    std::shared_lock lock(s.mutex);
    const auto it = s.map.find(h);
    return it == s.map.end() ? nullptr : it->second;
  }

  /// Inserts unless the name exists or the table holds `max_entries` already: the count is
  /// taken before the insert and given back if it fails, so concurrent inserts cannot overshoot.
  insert_result insert(std::string name, std::shared_ptr<T> value, std::size_t max_entries) {
    const hashed h{name, hasher_(name)};
    shard& s = shard_of(h.hash);
    std::unique_lock lock(s.mutex);
    if (s.map.find(h) != s.map.end()) return insert_result::exists;
    if (count_.fetch_add(1, std::memory_order_relaxed) >= max_entries) {
      count_.fetch_sub(1, std::memory_order_relaxed);
      return insert_result::full;
    }
    s.map.emplace(std::move(name), std::move(value));
    return insert_result::inserted;
  }

  /// Erases `name` if it still maps to `value` (a new entry may already have reused the name).
  /// The erased object is destroyed after the lock is released.
  void erase(std::string_view name, const T* value) {
    std::shared_ptr<T> doomed;
    const hashed h{name, hasher_(name)};
    shard& s = shard_of(h.hash);
    std::unique_lock lock(s.mutex);
    const auto it = s.map.find(h);
    if (it == s.map.end() || it->second.get() != value) return;
    doomed = std::move(it->second);
    s.map.erase(it);
    count_.fetch_sub(1, std::memory_order_relaxed);
  }

  std::size_t size() const noexcept { return count_.load(std::memory_order_relaxed); }

  std::vector<std::shared_ptr<T>> snapshot() const {
    std::vector<std::shared_ptr<T>> all;
    all.reserve(size());
    for (const shard& s : shards_) {
      std::shared_lock lock(s.mutex);
      for (const auto& [name, value] : s.map) all.push_back(value);
    }
    return all;
  }

 private:
  /// A name with its hash, for lookups (the map's hasher returns the hash as it is).
  struct hashed {
    std::string_view name;
    std::uint64_t hash;
  };
  struct map_hash {
    using is_transparent = void;
    const name_hasher* hasher = nullptr;
    std::size_t operator()(const std::string& name) const noexcept { return (*hasher)(name); }
    std::size_t operator()(const hashed& h) const noexcept { return h.hash; }
  };
  struct map_equal {
    using is_transparent = void;
    bool operator()(const std::string& a, const std::string& b) const noexcept { return a == b; }
    bool operator()(const hashed& a, const std::string& b) const noexcept { return a.name == b; }
    bool operator()(const std::string& a, const hashed& b) const noexcept { return a == b.name; }
  };
  using map_type = std::unordered_map<std::string, std::shared_ptr<T>, map_hash, map_equal>;
  struct alignas(64) shard {
    mutable std::shared_mutex mutex;
    map_type map;
  };

  // The top bits pick the shard; the map's buckets use the hash modulo a prime, so all of it.
  shard& shard_of(std::uint64_t hash) noexcept { return shards_[(hash >> 32) & (Shards - 1)]; }
  const shard& shard_of(std::uint64_t hash) const noexcept { return shards_[(hash >> 32) & (Shards - 1)]; }

  name_hasher hasher_;
  std::array<shard, Shards> shards_;
  alignas(64) std::atomic<std::size_t> count_{0};
};

}  // namespace chat_server
