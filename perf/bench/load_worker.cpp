#include "load_worker.hpp"

#include "clock.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <stdexcept>

namespace chat_bench {
namespace {
// A send due longer ago than this is skipped instead of sent late in a burst.
constexpr std::int64_t late_limit_ns = 20 * ns_per_ms;
// Longest sleep: the worker looks at its plan and keepalives at least this often.
constexpr std::int64_t max_wait_ns = 100 * ns_per_ms;
constexpr std::int64_t housekeeping_ns = ns_per_s;
// Keepalives are checked this often; members' first keepalives are staggered over the interval,
// so that they go out a few at a time instead of all at once.
constexpr std::int64_t keepalive_scan_ns = 100 * ns_per_ms;
}  // namespace

counter_snapshot counter_snapshot::take(const worker_counters& c) {
  counter_snapshot s;
  s.sent = c.sent.load(std::memory_order_relaxed);
  s.send_failed = c.send_failed.load(std::memory_order_relaxed);
  s.skipped = c.skipped.load(std::memory_order_relaxed);
  s.keepalives = c.keepalives.load(std::memory_order_relaxed);
  s.delivered = c.delivered.load(std::memory_order_relaxed);
  s.in_window = c.in_window.load(std::memory_order_relaxed);
  s.stale = c.stale.load(std::memory_order_relaxed);
  s.pongs = c.pongs.load(std::memory_order_relaxed);
  s.notices = c.notices.load(std::memory_order_relaxed);
  s.rate_limited = c.rate_limited.load(std::memory_order_relaxed);
  s.malformed = c.malformed.load(std::memory_order_relaxed);
  s.open_failed = c.open_failed.load(std::memory_order_relaxed);
  s.received = c.received.load(std::memory_order_relaxed);
  s.latency = c.latency.snapshot();
  return s;
}

void counter_snapshot::add(const counter_snapshot& o) {
  sent += o.sent;
  send_failed += o.send_failed;
  skipped += o.skipped;
  keepalives += o.keepalives;
  delivered += o.delivered;
  in_window += o.in_window;
  stale += o.stale;
  pongs += o.pongs;
  notices += o.notices;
  rate_limited += o.rate_limited;
  malformed += o.malformed;
  open_failed += o.open_failed;
  received += o.received;
  latency.add(o.latency);
}

counter_snapshot counter_snapshot::since(const counter_snapshot& e) const {
  counter_snapshot d = *this;
  d.sent -= e.sent;
  d.send_failed -= e.send_failed;
  d.skipped -= e.skipped;
  d.keepalives -= e.keepalives;
  d.delivered -= e.delivered;
  d.in_window -= e.in_window;
  d.stale -= e.stale;
  d.pongs -= e.pongs;
  d.notices -= e.notices;
  d.rate_limited -= e.rate_limited;
  d.malformed -= e.malformed;
  d.open_failed -= e.open_failed;
  d.received -= e.received;
  d.latency.subtract(e.latency);
  return d;
}

load_worker::load_worker(std::size_t index, std::size_t count, std::int64_t keepalive_ns)
    : index_(index), count_(std::max<std::size_t>(count, 1)), keepalive_ns_(keepalive_ns) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::runtime_error("eventfd failed");
}

load_worker::~load_worker() {
  stop();
  ::close(wake_fd_);
}

void load_worker::start() {
  const std::size_t n = members();
  const std::int64_t now = now_ns();
  last_send_.resize(n);
  for (std::size_t m = 0; m < n; ++m) {
    last_send_[m] = now - static_cast<std::int64_t>(static_cast<double>(keepalive_ns_) * static_cast<double>(m) /
                                                    static_cast<double>(std::max<std::size_t>(n, 1)));
  }
  thread_ = std::thread([this] { run(); });
  native_thread_ = thread_.native_handle();
}

double load_worker::cpu_seconds() const noexcept {
  if (!thread_.joinable()) return 0;
  clockid_t clock{};
  if (::pthread_getcpuclockid(native_thread_, &clock) != 0) return 0;
  timespec ts{};
  if (::clock_gettime(clock, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void load_worker::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true, std::memory_order_release);
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
  thread_.join();
}

std::uint64_t load_worker::set_plan(const phase_plan& plan) {
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(plan_mutex_);
    pending_plan_ = plan;
    generation = generation_.load(std::memory_order_relaxed) + 1;
    generation_.store(generation, std::memory_order_release);
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
  return generation;
}

bool load_worker::acknowledged(std::uint64_t generation) const noexcept {
  return acknowledged_.load(std::memory_order_acquire) >= generation;
}

std::string load_worker::last_notice() const {
  std::lock_guard lock(notice_mutex_);
  return last_notice_;
}

void load_worker::drain_wake() noexcept {
  std::uint64_t value = 0;
  [[maybe_unused]] const auto n = ::read(wake_fd_, &value, sizeof value);
}

void load_worker::adopt_plan() {
  {
    std::lock_guard lock(plan_mutex_);
    plan_ = pending_plan_;
    seen_generation_ = generation_.load(std::memory_order_relaxed);
  }
  const std::size_t n = members();
  next_k_ = 0;
  schedule_done_ = !(plan_.sending && n > 0 && plan_.rate_per_member > 0);
  if (!schedule_done_) {
    interval_ns_ = 1e9 / (plan_.rate_per_member * static_cast<double>(n));
    offset_ns_ = interval_ns_ * static_cast<double>(index_) / static_cast<double>(count_);
  }
  if (plan_.sending) counters_.latency.reset_max();  // the phase's max; kept through the drain
  acknowledged_.store(seen_generation_, std::memory_order_release);
}

std::int64_t load_worker::next_due_ns() const noexcept {
  return plan_.start_ns + static_cast<std::int64_t>(offset_ns_ + static_cast<double>(next_k_) * interval_ns_);
}

void load_worker::send_due(std::int64_t now) {
  const std::size_t n = members();
  while (!schedule_done_) {
    const std::int64_t due = next_due_ns();
    if (due >= plan_.end_ns) {
      schedule_done_ = true;
      break;
    }
    if (due > now) break;
    const std::size_t m = static_cast<std::size_t>(next_k_ % n);
    ++next_k_;
    if (now - due > late_limit_ns) {
      bump(counters_.skipped);
      continue;
    }
    const stamp s{static_cast<std::uint64_t>(now), member_ids_[m], plan_.epoch};
    if (send_chat(m, s)) {
      bump(counters_.sent);
      last_send_[m] = now;
    } else {
      bump(counters_.send_failed);
    }
    now = now_ns();
  }
}

void load_worker::run() {
  std::int64_t next_housekeeping = now_ns() + housekeeping_ns;
  std::int64_t next_keepalive_scan = now_ns() + keepalive_scan_ns;
  while (!stopping_.load(std::memory_order_acquire)) {
    if (generation_.load(std::memory_order_acquire) != seen_generation_) adopt_plan();
    std::int64_t now = now_ns();
    send_due(now);
    now = now_ns();
    if (now >= next_keepalive_scan) {
      next_keepalive_scan = now + keepalive_scan_ns;
      const std::size_t n = members();
      for (std::size_t m = 0; m < n; ++m) {
        if (now - last_send_[m] < keepalive_ns_) continue;
        if (send_keepalive(m)) bump(counters_.keepalives);
        last_send_[m] = now;
      }
    }
    if (now >= next_housekeeping) {
      next_housekeeping = now + housekeeping_ns;
      housekeeping(now);
    }
    std::int64_t wake = std::min({next_housekeeping, next_keepalive_scan, now + max_wait_ns});
    if (!schedule_done_) wake = std::min(wake, next_due_ns());
    wait_and_receive(std::max<std::int64_t>(wake - now, 0));
  }
}

void load_worker::record_text(std::span<const char> text, std::int64_t now) noexcept {
  const auto s = read_stamp(text);
  if (!s) {
    bump(counters_.malformed);
    return;
  }
  if (plan_.epoch == 0 || s->epoch != plan_.epoch) {
    bump(counters_.stale);
    return;
  }
  bump(counters_.delivered);
  if (now <= plan_.end_ns) bump(counters_.in_window);
  const std::int64_t latency = now - static_cast<std::int64_t>(s->sent_ns);
  counters_.latency.record(static_cast<std::uint64_t>(std::max<std::int64_t>(latency, 0)));
}

void load_worker::record_notice(std::string_view json) {
  if (json.find("\"pong\"") != std::string_view::npos) {
    bump(counters_.pongs);
    return;
  }
  bump(counters_.notices);
  if (json.find("\"rate_limited\"") != std::string_view::npos) bump(counters_.rate_limited);
  std::lock_guard lock(notice_mutex_);
  last_notice_.assign(json.substr(0, 200));
}

}  // namespace chat_bench
