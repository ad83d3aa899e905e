// The order in which queued password hashes run: the policy alone, with no threads or locks (the
// hash_pool holds one lock around it), so that it can be tested by itself.
//
// Fair across clients (an IPv4 address or an IPv6 prefix, as address_limits counts them): each
// job carries what its client has left of its hash budget (address_limits' token bucket), and the
// job of the client with most left runs first, the oldest first among equals. A client that
// hashes continuously runs on an empty budget and waits behind anyone who has not; someone who
// joins now and then always has budget left, so a storm of correct-password joins from many
// addresses cannot keep them out. A client holds at most `per_client` jobs, and a full queue makes
// room for a job by dropping the one whose client has least left (the newest among equals), if
// that is less than the newcomer's: the storm's jobs go first, never the one that would get in.
// A job whose connection ended is cancelled by its ticket and never runs.
#pragma once

#include "libchat/address.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace chat_server {

template <class Job>
class hash_queue {
 public:
  using ticket = std::uint64_t;  ///< never 0
  struct limits {
    std::size_t capacity = 32;  ///< jobs waiting at most (--hash-queue)
    std::size_t per_client = 1;
  };
  enum class verdict : std::uint8_t { queued, queue_full, client_full };
  struct push_result {
    verdict what = verdict::queued;
    ticket id = 0;               ///< when queued
    std::optional<Job> evicted;  ///< a job dropped to make room: tell its owner it did not run
  };

  explicit hash_queue(limits l) : limits_(l) {}

  /// Queues `job` for `client` (the counted client, not the raw address); `budget_left` orders it.
  push_result push(const libchat::ip_address& client, double budget_left, Job job) {
    push_result result;
    if (per_client_[client] >= limits_.per_client) {
      forget_if_empty(client);
      result.what = verdict::client_full;
      return result;
    }
    if (order_.size() >= limits_.capacity) {
      if (order_.empty()) {  // capacity 0
        forget_if_empty(client);
        result.what = verdict::queue_full;
        return result;
      }
      auto worst = std::prev(order_.end());
      if (!(worst->first.budget_left < budget_left)) {
        forget_if_empty(client);
        result.what = verdict::queue_full;
        return result;
      }
      result.evicted = take(worst);
    }
    const key k{budget_left, next_++};
    order_.emplace(k, item{client, std::move(job)});
    by_ticket_.emplace(k.id, k);
    ++per_client_[client];
    result.id = k.id;
    return result;
  }

  /// The next job to run: the client with most budget left, the oldest first among equals.
  std::optional<Job> pop() {
    if (order_.empty()) return std::nullopt;
    return take(order_.begin());
  }

  /// Removes a job still waiting; nullopt if it already ran, was dropped, or never was.
  std::optional<Job> cancel(ticket id) {
    auto it = by_ticket_.find(id);
    if (it == by_ticket_.end()) return std::nullopt;
    return take(order_.find(it->second));
  }

  /// Empties the queue; the jobs are the caller's to destroy (outside any lock).
  std::vector<Job> clear() {
    std::vector<Job> jobs;
    while (!order_.empty()) jobs.push_back(take(order_.begin()));
    return jobs;
  }

  std::size_t size() const noexcept { return order_.size(); }
  /// Clients with a job waiting.
  std::size_t clients() const noexcept { return per_client_.size(); }

 private:
  struct key {
    double budget_left;
    ticket id;  // increasing: the order of arrival
    bool operator<(const key& other) const noexcept {
      if (budget_left != other.budget_left) return budget_left > other.budget_left;
      return id < other.id;
    }
  };
  struct item {
    libchat::ip_address client;
    Job job;
  };
  struct client_hash {
    std::size_t operator()(const libchat::ip_address& ip) const noexcept {
      return libchat::peer_address_hash{}({ip, 0});
    }
  };
  using order = std::map<key, item>;

  Job take(typename order::iterator it) {
    Job job = std::move(it->second.job);
    const libchat::ip_address client = it->second.client;
    by_ticket_.erase(it->first.id);
    order_.erase(it);
    --per_client_[client];
    forget_if_empty(client);
    return job;
  }
  void forget_if_empty(const libchat::ip_address& client) {
    auto it = per_client_.find(client);
    if (it != per_client_.end() && it->second == 0) per_client_.erase(it);
  }

  limits limits_;
  order order_;
  std::unordered_map<ticket, key> by_ticket_;
  std::unordered_map<libchat::ip_address, std::size_t, client_hash> per_client_;
  ticket next_ = 1;
};

}  // namespace chat_server
