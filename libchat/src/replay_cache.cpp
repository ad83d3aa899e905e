#include "libchat/replay_cache.hpp"

#include <algorithm>
#include <cstring>

namespace libchat {

std::size_t replay_cache::key_hash::operator()(const public_key& k) const noexcept {
  // A client's ephemeral is a public key whose private half it must know (to seal the request),
  // so choosing keys that share a bucket costs an X25519 per try: no keyed hash is needed, and
  // any 8 of its bytes are as good as a hash of all 32.
  std::size_t h = 0;
  std::memcpy(&h, k.data(), sizeof h);
  return h;
}

replay_cache::replay_cache(const replay_cache_config& config) : config_(config) {
  config_.capacity = std::max<std::size_t>(config_.capacity, 1);
  seen_.reserve(std::min<std::size_t>(config_.capacity, 4096));
}

void replay_cache::forget_oldest() {
  const entry& oldest = by_arrival_.front();
  // Whatever was sealed at or before it can no longer be told apart from a replay of it.
  floor_ = std::max(floor_, oldest.sent_at);
  seen_.erase(oldest.ephemeral);
  by_arrival_.pop_front();
}

freshness replay_cache::first_sight(const public_key& ephemeral, wall_time sent_at, wall_time now) {
  // Expiry by the latest time seen: a clock that steps back does not bring anything back, and
  // the floor keeps what was forgotten refused.
  latest_now_ = std::max(latest_now_, now);
  while (!by_arrival_.empty() && by_arrival_.front().forget_at <= latest_now_) forget_oldest();

  if (sent_at < now - config_.skew) return freshness::too_old;
  if (sent_at > now + config_.skew) return freshness::too_new;
  if (seen_.count(ephemeral)) return freshness::replayed;
  if (sent_at <= floor_) return freshness::crowded;

  if (by_arrival_.size() >= config_.capacity) {
    // Full: the oldest must go before its time, and then nothing sealed at or before it may pass,
    // this request included. Such a request is refused without pushing anything out.
    if (sent_at <= by_arrival_.front().sent_at) return freshness::crowded;
    ++evicted_early_;
    forget_oldest();
  }
  // Kept until its time has left the window (then the time check refuses it), and one second
  // more, so that the floor it leaves when it goes is strictly before every time still taken.
  const wall_time forget_at = sent_at + config_.skew + std::chrono::seconds(1);
  // Arrival order is expiry order only if forget_at never decreases along the FIFO: take the
  // later of this one and the newest, so that an early request never waits behind a later one.
  const wall_time ordered = by_arrival_.empty() ? forget_at : std::max(forget_at, by_arrival_.back().forget_at);
  by_arrival_.push_back({ephemeral, sent_at, ordered});
  seen_.insert(ephemeral);
  return freshness::fresh;
}

}  // namespace libchat
