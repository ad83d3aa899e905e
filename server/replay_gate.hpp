// The server's memory of encrypted requests (libchat::replay_cache), shared by every handshake
// behind one mutex, like address_gate. The time comes from each handshake: its wall clock at accept.
#pragma once

#include "libchat/replay_cache.hpp"

#include <cstdint>
#include <mutex>

namespace chat_server {

class replay_gate final : public libchat::replay_ledger {
 public:
  explicit replay_gate(const libchat::replay_cache_config& config) : cache_(config) {}

  libchat::freshness first_sight(const libchat::public_key& ephemeral, libchat::wall_time sent_at,
                                 libchat::wall_time now) override {
    std::lock_guard lock(mutex_);
    return cache_.first_sight(ephemeral, sent_at, now);
  }

  /// Requests remembered now, and entries forgotten early because the cache was full.
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return cache_.size();
  }
  std::uint64_t evicted_early() const {
    std::lock_guard lock(mutex_);
    return cache_.evicted_early();
  }

 private:
  mutable std::mutex mutex_;
  libchat::replay_cache cache_;
};

}  // namespace chat_server
