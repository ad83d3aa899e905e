#include "hash_pool.hpp"

#include <optional>

namespace chat_server {

hash_pool::hash_pool(unsigned workers, hash_queue<job>::limits limits) : jobs_(limits) {
  for (unsigned i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
}

hash_pool::~hash_pool() { stop(); }

hash_pool::ticket hash_pool::submit(const libchat::ip_address& client, double budget_left, job j) {
  hash_queue<job>::push_result pushed;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return 0;
    pushed = jobs_.push(client, budget_left, std::move(j));
  }
  if (pushed.what != hash_queue<job>::verdict::queued) return 0;
  wake_.notify_one();
  // Outside the lock: the dropped job's owner answers, and may be destroyed with it.
  if (pushed.evicted) {
    evicted_.fetch_add(1, std::memory_order_relaxed);
    (*pushed.evicted)(false);
  }
  return pushed.id;
}

bool hash_pool::cancel(ticket id) {
  std::optional<job> dropped;
  {
    std::lock_guard lock(mutex_);
    dropped = jobs_.cancel(id);
  }
  if (!dropped) return false;
  cancelled_.fetch_add(1, std::memory_order_relaxed);
  return true;  // destroyed here, outside the lock
}

std::size_t hash_pool::queued() const {
  std::lock_guard lock(mutex_);
  return jobs_.size();
}

void hash_pool::stop() {
  std::vector<job> dropped;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
    dropped = jobs_.clear();
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void hash_pool::work() {
  for (;;) {
    std::optional<job> next;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || jobs_.size() > 0; });
      if (stopping_) return;
      next = jobs_.pop();
    }
    (*next)(true);
  }
}

}  // namespace chat_server
