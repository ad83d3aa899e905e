// A few threads that run slow password hashes off the I/O pool, behind a bounded queue, so that a
// storm of password joins cannot stall the relay. A full queue refuses work at once.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace chat_server {

class hash_pool {
 public:
  hash_pool(unsigned workers, std::size_t max_queued);
  ~hash_pool();
  hash_pool(const hash_pool&) = delete;
  hash_pool& operator=(const hash_pool&) = delete;

  /// Queues a job; false (and the job is dropped) when the queue is full or the pool stopped.
  bool submit(std::function<void()> job);
  std::size_t queued() const;
  /// Finishes the job in hand on each worker, drops the queue, and joins.
  void stop();

 private:
  void work();

  std::size_t max_queued_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace chat_server
