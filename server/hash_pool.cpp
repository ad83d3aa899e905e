#include "hash_pool.hpp"

namespace chat_server {

hash_pool::hash_pool(unsigned workers, std::size_t max_queued) : max_queued_(max_queued) {
  for (unsigned i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
}

hash_pool::~hash_pool() { stop(); }

bool hash_pool::submit(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || jobs_.size() >= max_queued_) return false;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

std::size_t hash_pool::queued() const {
  std::lock_guard lock(mutex_);
  return jobs_.size();
}

void hash_pool::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
    jobs_.clear();
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void hash_pool::work() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace chat_server
