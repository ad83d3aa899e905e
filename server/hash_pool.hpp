// A few threads that run slow password hashes off the I/O pool, behind a bounded queue that is
// fair across clients (hash_queue.hpp), so that a storm of password joins can neither stall the
// relay nor keep other clients' joins out. A full queue refuses work at once, or drops the job of
// the client that has hashed most lately to make room.
#pragma once

#include "hash_queue.hpp"

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace chat_server {

class hash_pool {
 public:
  /// Called once: with true on a worker to do the hash, or with false on the thread that made
  /// room for another job (it was dropped without running; answer server_busy).
  using job = std::function<void(bool run)>;
  using ticket = hash_queue<job>::ticket;

  hash_pool(unsigned workers, hash_queue<job>::limits limits);
  ~hash_pool();
  hash_pool(const hash_pool&) = delete;
  hash_pool& operator=(const hash_pool&) = delete;

  /// Queues a job for `client` (as address_limits counts it) with what it has left of its hash
  /// budget. Returns its ticket, or 0 when refused (the job is then dropped, never called).
  ticket submit(const libchat::ip_address& client, double budget_left, job j);
  /// Drops a job still waiting (its connection ended). True if it was; false if it runs or ran.
  bool cancel(ticket id);
  std::size_t queued() const;
  /// Jobs dropped to make room for a client with more budget left, and jobs cancelled while
  /// waiting, since start.
  std::uint64_t evicted() const noexcept { return evicted_.load(std::memory_order_relaxed); }
  std::uint64_t cancelled() const noexcept { return cancelled_.load(std::memory_order_relaxed); }
  /// Finishes the job in hand on each worker, drops the queue, and joins.
  void stop();

 private:
  void work();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  hash_queue<job> jobs_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> evicted_{0}, cancelled_{0};
  std::vector<std::thread> workers_;
};

}  // namespace chat_server
