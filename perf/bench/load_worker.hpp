// A load worker: one thread that drives a share of the members of one target. It sends each
// member's messages on a schedule spread evenly over time (never in bursts), sends keepalives for
// members that have been quiet, receives what the target relays to its members, and records
// deliveries and latency in counters that the coordinator reads.
//
// Pacing: with n members at S messages/s each, the worker's k-th send is due at
//   start + (k + index/count) / (n·S)
// and goes to member k mod n, so every member sends every 1/S s and the workers interleave. A send
// that is due more than 20 ms in the past is skipped and counted (the generator could not keep up)
// rather than sent in a catch-up burst.
//
// Phases: the coordinator hands the worker a phase_plan (set_plan). Each chat message carries the
// plan's epoch; a delivery whose epoch is not the current plan's is counted as stale, so late
// arrivals from an earlier phase never count for the next one.
//
// Thread safety: set_plan, acknowledged and counters may be used from any thread; everything else
// runs on the worker's own thread.
#pragma once

#include "histogram.hpp"
#include "stamp.hpp"

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace chat_bench {

struct phase_plan {
  std::uint32_t epoch = 0;  ///< 0: no phase; every delivery is stale
  bool sending = false;
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  double rate_per_member = 0;  ///< chat messages per second per member
};

/// Cumulative counts of one worker. Single writer (the worker); readers take snapshots.
struct worker_counters {
  std::atomic<std::uint64_t> sent{0};         ///< chat messages sent
  std::atomic<std::uint64_t> send_failed{0};  ///< chat messages the socket refused
  std::atomic<std::uint64_t> skipped{0};      ///< scheduled sends dropped: the worker fell behind
  std::atomic<std::uint64_t> keepalives{0};
  std::atomic<std::uint64_t> delivered{0};    ///< chat messages of the current epoch received
  std::atomic<std::uint64_t> in_window{0};    ///< of them, received before the phase's end
  std::atomic<std::uint64_t> stale{0};        ///< chat messages of another epoch received
  std::atomic<std::uint64_t> pongs{0};
  std::atomic<std::uint64_t> notices{0};      ///< other server notices (joined, left, ...)
  std::atomic<std::uint64_t> rate_limited{0}; ///< of them, rate_limited errors (messages the server dropped)
  std::atomic<std::uint64_t> malformed{0};    ///< received datagrams that are not ours
  std::atomic<std::uint64_t> open_failed{0};  ///< encrypted datagrams that did not open (lost)
  std::atomic<std::uint64_t> received{0};     ///< datagrams received, whatever they were
  histogram latency;
};

struct counter_snapshot {
  std::uint64_t sent = 0, send_failed = 0, skipped = 0, keepalives = 0, delivered = 0, in_window = 0, stale = 0, pongs = 0,
                notices = 0, rate_limited = 0, malformed = 0, open_failed = 0, received = 0;
  histogram_counts latency;

  static counter_snapshot take(const worker_counters& c);
  void add(const counter_snapshot& other);
  /// this - earlier, for every count (the latency max is kept as this one's).
  counter_snapshot since(const counter_snapshot& earlier) const;
};

class load_worker {
 public:
  /// `index` of `count` workers of one target; members quiet for `keepalive_ns` get a keepalive.
  load_worker(std::size_t index, std::size_t count, std::int64_t keepalive_ns);
  virtual ~load_worker();
  load_worker(const load_worker&) = delete;
  load_worker& operator=(const load_worker&) = delete;

  /// Starts the thread. Call once the subclass is fully built.
  void start();
  /// Stops and joins the thread. Subclasses call it first in their destructor.
  void stop();

  /// Publishes a new plan; returns its generation.
  std::uint64_t set_plan(const phase_plan& plan);
  /// True once the worker runs under plan `generation` (or a later one).
  bool acknowledged(std::uint64_t generation) const noexcept;
  const worker_counters& counters() const noexcept { return counters_; }
  /// CPU time the worker's thread has used (its own thread CPU clock); 0 when it does not run.
  double cpu_seconds() const noexcept;
  /// The most recent unexpected notice text (for diagnostics), if any.
  std::string last_notice() const;

 protected:
  /// Number of members this worker drives; fixed once start() ran.
  virtual std::size_t members() const = 0;
  /// Waits up to `timeout_ns` for the sockets (and wake_fd()), reading what arrived and calling
  /// record_text / record_notice for each message.
  virtual void wait_and_receive(std::int64_t timeout_ns) = 0;
  /// Sends member `m`'s chat message stamped `s`. False if the transport refused it.
  virtual bool send_chat(std::size_t m, const stamp& s) = 0;
  /// Sends member `m` a keepalive (UDP: an empty message). False if refused or not needed.
  virtual bool send_keepalive(std::size_t m) = 0;
  /// Called about once a second on the worker thread.
  virtual void housekeeping(std::int64_t /*now*/) {}

  void record_text(std::span<const char> text, std::int64_t now) noexcept;
  /// A notice's JSON text; pongs are counted apart.
  void record_notice(std::string_view json);
  void record_malformed() noexcept { bump(counters_.malformed); }
  void record_open_failure() noexcept { bump(counters_.open_failed); }
  void record_received(std::size_t n) noexcept { bump(counters_.received, n); }
  /// An eventfd that becomes readable when the plan changes; the subclass waits on it too and
  /// calls drain_wake() when it fires.
  int wake_fd() const noexcept { return wake_fd_; }
  void drain_wake() noexcept;

  static void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  /// Ids of the members, for stamps (set by the subclass before start()).
  std::vector<std::uint32_t> member_ids_;

 private:
  void run();
  void adopt_plan();
  void send_due(std::int64_t now);
  std::int64_t next_due_ns() const noexcept;

  const std::size_t index_;
  const std::size_t count_;
  const std::int64_t keepalive_ns_;
  int wake_fd_ = -1;
  std::thread thread_;
  pthread_t native_thread_{};
  std::atomic<bool> stopping_{false};

  mutable std::mutex plan_mutex_;
  phase_plan pending_plan_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::uint64_t> acknowledged_{0};

  // Worker thread only.
  phase_plan plan_;
  std::uint64_t seen_generation_ = 0;
  double interval_ns_ = 0;
  double offset_ns_ = 0;
  std::uint64_t next_k_ = 0;
  bool schedule_done_ = true;
  std::vector<std::int64_t> last_send_;

  worker_counters counters_;
  mutable std::mutex notice_mutex_;
  std::string last_notice_;
};

}  // namespace chat_bench
