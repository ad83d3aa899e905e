#include "runner.hpp"

#include "clock.hpp"
#include "interrupt.hpp"
#include "proc_stats.hpp"
#include "self_allocs.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <thread>

namespace chat_bench {
namespace {

// Time between publishing a plan and its start, so that every worker has adopted it.
constexpr std::int64_t lead_in_ns = 100 * ns_per_ms;
// With no new delivery for this long, the drain ends early.
constexpr std::int64_t quiet_drain_ns = 300 * ns_per_ms;

double workers_cpu(const std::vector<load_worker*>& workers) {
  double total = 0;
  for (const auto* w : workers) total += w->cpu_seconds();
  return total;
}

// Local ports the kernel hands out (ip_local_port_range): every member's UDP socket takes one.
std::uint64_t ephemeral_ports() {
  std::FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
  if (!f) return 28'232;  // Linux's default range
  unsigned lo = 0, hi = 0;
  const int n = std::fscanf(f, "%u %u", &lo, &hi);
  std::fclose(f);
  return n == 2 && hi > lo ? hi - lo + 1 : 28'232;
}

counter_snapshot sum_counters(const std::vector<load_worker*>& workers) {
  counter_snapshot total;
  for (const auto* w : workers) total.add(counter_snapshot::take(w->counters()));
  return total;
}

void publish(const std::vector<load_worker*>& workers, const phase_plan& plan) {
  std::vector<std::uint64_t> generations;
  for (auto* w : workers) generations.push_back(w->set_plan(plan));
  const std::int64_t until = now_ns() + ns_per_s;
  for (std::size_t i = 0; i < workers.size(); ++i) {
    while (!workers[i]->acknowledged(generations[i]) && now_ns() < until) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
}

double ms(std::uint64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

}  // namespace

runner::runner(const options& o) : opts_(o) {}

std::vector<shape> runner::shapes() const {
  if (!opts_.sweep) return {opts_.layout};
  std::vector<shape> out;
  for (const auto size : opts_.sweep_sizes) {
    const auto rooms = static_cast<std::uint32_t>(std::max<std::uint64_t>(1, opts_.total_members / size));
    out.push_back({rooms, size});
  }
  return out;
}

double runner::sweep_rate(const shape& s) const {
  return opts_.sweep_deliveries / (static_cast<double>(s.total()) * static_cast<double>(s.members - 1));
}

void runner::prepare(target& t, const shape& s) {
  if (t.populated() && t.current_shape() && t.current_shape()->rooms == s.rooms &&
      t.current_shape()->members == s.members) {
    return;
  }
  t.depopulate();
  const auto server_before = sample_process(t.pid());
  const double self_before = self_cpu_seconds();
  const std::int64_t start = now_ns();
  t.populate(s);
  setup_result r;
  r.target = t.name();
  r.layout = s;
  r.encrypted = is_encrypted(t.kind());
  r.seconds = seconds_between(start, now_ns());
  r.bench_cpu_s = self_cpu_seconds() - self_before;
  const auto server_after = sample_process(t.pid());
  if (server_before && server_after) {
    r.server_cpu_s = server_after->cpu_seconds - server_before->cpu_seconds;
    r.hwm_kib = server_after->hwm_kib;
    r.rss_kib = server_after->rss_kib;
  }
  r.base_rss_kib = t.base_rss_kib();
  r.open_failures = t.setup_open_failures();
  if (!opts_.quiet) {
    std::fprintf(stderr, "%s %s set up in %.1f s: server %.0f us CPU, chat-bench %.0f us CPU per member\n",
                 r.target.c_str(), s.to_string().c_str(), r.seconds,
                 r.server_cpu_s * 1e6 / static_cast<double>(s.total()),
                 r.bench_cpu_s * 1e6 / static_cast<double>(s.total()));
  }
  report_.setups.push_back(r);
}

void runner::release(target& t) {
  if (swap_) t.depopulate();
}

phase_result runner::run_phase(target& t, double rate, double duration, const std::string& mode) {
  if (!t.alive()) throw std::runtime_error(t.name() + " is not running:\n" + t.diagnostics());
  const auto workers = t.workers();
  const shape layout = *t.current_shape();
  phase_result r;
  r.target = t.name();
  r.mode = mode;
  r.encrypted = is_encrypted(t.kind());
  r.base_rss_kib = t.base_rss_kib();
  r.layout = layout;
  r.rate = rate;
  r.duration = duration;
  r.offered_per_s = rate * static_cast<double>(layout.total());

  // Everything before: the workers are idle (epoch 0), so their counters stand still but for
  // keepalives and stragglers.
  const auto before = sum_counters(workers);
  const auto server_before = sample_process(t.pid());
  const auto machine_before = sample_machine();
  const auto udp_before = sample_udp();
  const auto drops_before = t.udp_port() ? socket_drops(*t.udp_port()) : std::nullopt;
  const auto allocs_before = t.allocations();
  const auto self_allocs_before = self_allocations();
  const double self_before = self_cpu_seconds();
  const double workers_before = workers_cpu(workers);
  const std::int64_t wall_before = now_ns();

  phase_plan plan;
  plan.epoch = ++epoch_;
  plan.sending = true;
  plan.start_ns = now_ns() + lead_in_ns;
  plan.end_ns = plan.start_ns + static_cast<std::int64_t>(duration * 1e9);
  plan.rate_per_member = rate;
  publish(workers, plan);

  const std::uint64_t fanout = layout.members - 1;
  const std::string label = t.name() + " " + layout.to_string() + " @" + std::to_string(rate).substr(0, 5) + "/s";
  std::int64_t next_progress = plan.start_ns + ns_per_s;
  counter_snapshot last = before;
  std::int64_t last_at = plan.start_ns;
  double cpu_last = server_before ? server_before->cpu_seconds : 0;
  while (now_ns() < plan.end_ns && !interrupted()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const std::int64_t now = now_ns();
    if (now < next_progress) continue;
    next_progress += ns_per_s;
    const auto current = sum_counters(workers);
    const auto step = current.since(last);
    const auto phase = current.since(before);
    const double dt = seconds_between(last_at, now);
    const auto server_now = sample_process(t.pid());
    const double cpu_now = server_now ? server_now->cpu_seconds : cpu_last;
    const double expected = static_cast<double>(phase.sent * fanout);
    if (!opts_.quiet) {
      std::fprintf(
          stderr, "%s  %4.1f/%.0fs  sent %8.0f/s  delivered %9.0f/s  loss~ %6.3f%%  p99 %7.3f ms  server %5.1f%% cpu\n",
          label.c_str(), seconds_between(plan.start_ns, now), duration, static_cast<double>(step.sent) / dt,
          static_cast<double>(step.delivered) / dt,
          expected > 0 ? 100.0 * (1.0 - static_cast<double>(phase.delivered) / expected) : 0.0,
          ms(phase.latency.percentile(0.99)), 100.0 * (cpu_now - cpu_last) / dt);
    }
    last = current;
    last_at = now;
    cpu_last = cpu_now;
  }
  r.interrupted = interrupted();
  if (r.interrupted) {
    // Stop sending at once; what was sent still gets its drain.
    phase_plan stop = plan;
    stop.sending = false;
    publish(workers, stop);
  }

  // Drain: wait until everything sent arrived, nothing arrived for a while, or the drain is over.
  const std::int64_t sent_end = now_ns();
  std::uint64_t seen = 0;
  std::int64_t seen_at = sent_end;
  for (;;) {
    const auto current = sum_counters(workers).since(before);
    const std::int64_t now = now_ns();
    if (current.delivered >= current.sent * fanout) break;
    if (current.delivered != seen) {
      seen = current.delivered;
      seen_at = now;
    }
    if (now - seen_at > quiet_drain_ns || now - sent_end > static_cast<std::int64_t>(opts_.drain * 1e9)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  publish(workers, phase_plan{});  // epoch 0: anything later is stale
  // Before reading /proc (its UDP table has a line per member socket, parsed with allocations).
  const auto self_allocs_after = self_allocations();

  const auto after = sum_counters(workers);
  const auto server_after = sample_process(t.pid());
  const auto machine_after = sample_machine();
  const auto udp_after = sample_udp();
  const auto drops_after = t.udp_port() ? socket_drops(*t.udp_port()) : std::nullopt;
  const auto allocs_after = t.allocations();
  const double self_after = self_cpu_seconds();
  const double workers_after = workers_cpu(workers);
  const std::int64_t wall_after = now_ns();

  r.counts = after.since(before);
  r.counts.latency.max_ns = after.latency.max_ns;
  r.duration = std::min(duration, seconds_between(plan.start_ns, sent_end));
  r.expected = r.counts.sent * fanout;
  r.sent_per_s = static_cast<double>(r.counts.sent) / r.duration;
  // Throughput counts what arrived while the load ran: a target that falls behind queues datagrams
  // in its socket buffer and delivers them during the drain, which is no throughput at all.
  r.delivered_per_s = static_cast<double>(r.counts.in_window) / r.duration;
  r.eventual_per_s = static_cast<double>(r.counts.delivered) / r.duration;
  r.kept_up = static_cast<double>(r.counts.in_window) >= 0.95 * static_cast<double>(r.expected);
  r.loss = r.expected ? 1.0 - static_cast<double>(r.counts.delivered) / static_cast<double>(r.expected) : 0.0;
  r.p50_ns = r.counts.latency.percentile(0.50);
  r.p99_ns = r.counts.latency.percentile(0.99);
  r.p999_ns = r.counts.latency.percentile(0.999);
  r.max_ns = r.counts.latency.max_ns;
  r.wall = seconds_between(wall_before, wall_after);
  if (server_before && server_after) {
    r.server_cpu_s = server_after->cpu_seconds - server_before->cpu_seconds;
    r.server_cpu = r.server_cpu_s / r.wall;
    r.hwm_kib = server_after->hwm_kib;
    r.rss_kib = server_after->rss_kib;
  }
  if (r.counts.delivered > 0)
    r.cpu_us_per_1000 = r.server_cpu_s * 1e6 / (static_cast<double>(r.counts.delivered) / 1000.0);
  r.bench_cpu = (self_after - self_before) / r.wall;
  r.bench_workers_cpu_s = workers_after - workers_before;
  r.bench_datagrams = r.counts.sent + r.counts.keepalives + r.counts.received;
  if (r.bench_datagrams) r.bench_us_per_datagram = r.bench_workers_cpu_s * 1e6 / static_cast<double>(r.bench_datagrams);
  if (self_allocs_before && self_allocs_after) {
    r.bench_allocs = *self_allocs_after - *self_allocs_before;
    if (r.bench_datagrams) {
      r.bench_allocs_per_datagram = static_cast<double>(*r.bench_allocs) / static_cast<double>(r.bench_datagrams);
    }
  }
  r.machine_busy = busy_fraction(machine_before, machine_after);
  r.rcvbuf_errors = udp_after.rcvbuf_errors - udp_before.rcvbuf_errors;
  if (drops_before && drops_after) r.target_drops = *drops_after - *drops_before;
  if (allocs_before && allocs_after) {
    r.allocs = alloc_counts{allocs_after->allocations - allocs_before->allocations,
                            allocs_after->frees - allocs_before->frees, allocs_after->bytes - allocs_before->bytes};
    const auto incoming = r.counts.sent + r.counts.keepalives;
    if (incoming) r.allocs_per_message = static_cast<double>(r.allocs->allocations) / static_cast<double>(incoming);
    if (r.counts.delivered) {
      r.allocs_per_delivery = static_cast<double>(r.allocs->allocations) / static_cast<double>(r.counts.delivered);
    }
  }
  r.generator_bound = mode != "idle" && r.sent_per_s < 0.95 * r.offered_per_s;
  for (const auto* w : workers) {
    auto notice = w->last_notice();
    if (!notice.empty()) r.last_notice = notice;
  }
  if (!opts_.quiet) {
    std::fprintf(stderr,
                 "%s  done: sent %.0f/s  delivered %.0f/s  loss %.4f%%  p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f ms  "
                 "server %.1f%% cpu  bench %.2f us/datagram%s%s%s\n",
                 label.c_str(), r.sent_per_s, r.delivered_per_s, 100.0 * r.loss, ms(r.p50_ns), ms(r.p99_ns),
                 ms(r.p999_ns), ms(r.max_ns), 100.0 * r.server_cpu, r.bench_us_per_datagram,
                 r.generator_bound ? "  (generator-bound)" : "", r.kept_up ? "" : "  (fell behind: queueing)",
                 r.counts.open_failed ? "  (DATAGRAMS THAT DID NOT OPEN)" : "");
  }
  if (!t.alive()) throw std::runtime_error(t.name() + " died during the phase:\n" + t.diagnostics());
  return r;
}

void runner::run_fixed(const shape& s, double rate, const std::string& mode) {
  for (unsigned round = 0; round < opts_.repeat && !interrupted(); ++round) {
    for (auto& t : targets_) {
      if (interrupted()) return;
      prepare(*t, s);
      report_.phases.push_back(run_phase(*t, rate, opts_.duration, mode));
      release(*t);
    }
  }
}

void runner::run_max(const shape& s, double start_rate, const std::string& mode) {
  struct search {
    saturation_result result;
    double next = 0;
    bool done = false;
  };
  std::vector<search> searches(targets_.size());
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    searches[i].result.target = targets_[i]->name();
    searches[i].result.layout = s;
    searches[i].next = start_rate;
  }
  // Alternate the systems step by step, so that each step of one is measured next to the other's.
  for (;;) {
    bool any = false;
    for (std::size_t i = 0; i < targets_.size(); ++i) {
      auto& sr = searches[i];
      if (sr.done || interrupted()) continue;
      any = true;
      target& t = *targets_[i];
      prepare(t, s);
      const double rate = sr.next;
      auto is_good = [this](const phase_result& p) { return p.loss < opts_.loss_limit && p.kept_up && !p.interrupted; };
      auto r = run_phase(t, rate, opts_.duration, mode);
      ++sr.result.steps;
      bool reported = false;
      if (!is_good(r) && !interrupted()) {
        // One bad step can be a stall of this busy machine: measure the same rate once more
        // before taking it as the ceiling. Both measurements are reported; the better one counts.
        report_.phases.push_back(r);
        report_.phases.back().retried = true;
        auto again = run_phase(t, rate, opts_.duration, mode);
        report_.phases.push_back(again);
        reported = true;
        if (is_good(again) || again.delivered_per_s > r.delivered_per_s) r = std::move(again);
      }
      release(t);
      const bool good = is_good(r);
      if (good && (!sr.result.best || r.delivered_per_s > sr.result.best->delivered_per_s)) sr.result.best = r;
      // A step the generator could not drive at its rate cannot show a higher ceiling: treat it
      // as the top of the bracket.
      if (good && !r.generator_bound) {
        sr.result.good_rate = std::max(sr.result.good_rate, rate);
      } else {
        sr.result.bad_rate = sr.result.bad_rate > 0 ? std::min(sr.result.bad_rate, rate) : rate;
        if (good && r.generator_bound) sr.result.generator_bound = true;
      }
      if (!reported) report_.phases.push_back(std::move(r));
      const double lo = sr.result.good_rate;
      const double hi = sr.result.bad_rate;
      if (hi == 0) {
        sr.next = rate * 1.5;
      } else if (lo == 0) {
        sr.next = rate / 2;
      } else {
        sr.next = (lo + hi) / 2;
      }
      if (sr.result.steps >= opts_.max_steps || (lo > 0 && hi > 0 && (hi - lo) / lo < opts_.max_precision) ||
          (hi > 0 && lo == 0 && rate < 0.01)) {
        sr.done = true;
      }
    }
    if (!any) break;
  }
  for (auto& sr : searches) {
    if (sr.result.best && sr.result.best->generator_bound) sr.result.generator_bound = true;
    report_.saturations.push_back(std::move(sr.result));
  }
}

run_report runner::run(const std::string& command_line) {
  report_ = {};
  report_.command_line = command_line;
  report_.cpus = online_cpus();
  report_.message_bytes = opts_.size;
  report_.bench_threads = opts_.bench_threads;
  report_.self_allocs = self_allocations().has_value();
  for (const auto kind : opts_.targets) {
    if (is_encrypted(kind)) report_.handshake_rate = opts_.handshake_rate;
  }
  report_.load_before = load_average();
  utsname u{};
  if (::uname(&u) == 0) report_.kernel = std::string(u.sysname) + " " + u.release;

  const auto all_shapes = shapes();
  shape largest{0, 0};
  for (const auto& s : all_shapes) {
    largest.rooms = std::max(largest.rooms, s.rooms);
    largest.members = std::max(largest.members, s.members);
  }
  std::uint64_t biggest_population = 0;
  for (const auto& s : all_shapes) biggest_population = std::max(biggest_population, s.total());

  // Paced encrypted handshakes take members / rate at least.
  const bool any_encrypted =
      std::find_if(opts_.targets.begin(), opts_.targets.end(), is_encrypted) != opts_.targets.end();
  const double pacing =
      any_encrypted && opts_.handshake_rate > 0 ? static_cast<double>(biggest_population) / opts_.handshake_rate : 0.0;
  const double setup_timeout =
      opts_.setup_timeout > 0 ? opts_.setup_timeout : 60.0 + 0.01 * static_cast<double>(biggest_population) + pacing;
  const std::string prefix = "b" + std::to_string(::getpid()) + "-";
  for (const auto kind : opts_.targets) {
    target_settings ts;
    ts.kind = kind;
    const bool baseline = kind == target_kind::baseline || kind == target_kind::baseline_enc;
    ts.program = baseline                           ? opts_.baseline_bin
                 : is_chat_server(kind)             ? opts_.server_bin
                 : kind == target_kind::limit_relay ? opts_.limit_relay_bin
                                                    : opts_.mosquitto_bin;
    ts.extra_args = opts_.server_args;
    if (opts_.connect) {
      ts.connect = parse_endpoint(*opts_.connect);
      ts.pid = *opts_.server_pid;
    }
    if (is_chat_server(kind)) ts.server_threads = opts_.server_threads;
    ts.log_path = opts_.server_log;
    ts.alloc_counter_library = opts_.count_allocs;
    ts.workers = opts_.bench_threads;
    ts.keepalive_ns = static_cast<std::int64_t>(opts_.keepalive * 1e9);
    ts.population.name_prefix = prefix;
    ts.population.text_bytes = opts_.size;
    ts.population.handshake_concurrency = opts_.handshake_concurrency;
    ts.population.handshake_rate = opts_.handshake_rate;
    ts.population.timeout_ns = static_cast<std::int64_t>(setup_timeout * 1e9);
    if (opts_.source_ip) ts.population.source_ip = *opts_.source_ip;
    ts.population.join_via = opts_.join_via;
    ts.population.create_via = opts_.create_via;
    ts.population.progress = !opts_.quiet;
    targets_.push_back(std::make_unique<target>(std::move(ts)));
  }

  // Descriptors: every system's members at once if they fit, else one system's at a time. The
  // same for local ports: each UDP member binds one of the kernel's ephemeral ports.
  std::uint64_t all = 0;
  std::uint64_t one = 0;
  std::uint64_t all_udp = 0;
  const shape biggest{1, static_cast<std::uint32_t>(biggest_population)};
  for (const auto& t : targets_) {
    all += t->descriptors_for(biggest);
    one = std::max(one, t->descriptors_for(biggest));
    if (t->kind() != target_kind::mqtt) all_udp += biggest_population;
  }
  const std::uint64_t margin = 2 * opts_.handshake_concurrency + 256;
  const std::uint64_t limit = raise_fd_limit(all + margin);
  const std::uint64_t ports = ephemeral_ports();
  if (all + margin > limit || all_udp + margin > ports) {
    if (one + margin > limit) {
      report_.error = "chat-bench needs " + std::to_string(one + margin) + " file descriptors but may open " +
                      std::to_string(limit) + " (raise the hard limit: ulimit -Hn)";
      return report_;
    }
    if (biggest_population + margin > ports) {
      report_.error = "chat-bench needs " + std::to_string(biggest_population + margin) +
                      " local ports but the kernel has " + std::to_string(ports) + " (net.ipv4.ip_local_port_range)";
      return report_;
    }
    swap_ = true;
    report_.swapped = true;
  }

  // Watchdog: the whole run must end on its own.
  {
    const double per_phase = opts_.duration + opts_.drain + 3;
    const double phases =
        static_cast<double>(all_shapes.size() * targets_.size()) * (opts_.max ? opts_.max_steps : opts_.repeat);
    const double setups = swap_ ? phases : static_cast<double>(all_shapes.size() * targets_.size());
    arm_watchdog(std::chrono::seconds(static_cast<long>(phases * per_phase + setups * setup_timeout + 120)));
  }

  try {
    for (auto& t : targets_) {
      t->start(largest);
      report_.systems.emplace_back(t->name(), t->description());
      if (!opts_.quiet)
        std::fprintf(stderr, "%s: %s (pid %d)\n", t->name().c_str(), t->description().c_str(), t->pid());
    }
    for (const auto& s : all_shapes) {
      if (interrupted()) break;
      if (!swap_) {
        for (auto& t : targets_) prepare(*t, s);
      }
      const double rate = opts_.sweep ? sweep_rate(s) : opts_.rate;
      if (opts_.idle) {
        run_fixed(s, 0, "idle");
      } else if (opts_.max) {
        const double start = opts_.max_start > 0 ? opts_.max_start : (opts_.sweep ? rate : 1.0);
        run_max(s, start, opts_.sweep ? "sweep-max" : "max");
      } else {
        run_fixed(s, rate, opts_.sweep ? "sweep" : "fixed");
      }
      for (auto& t : targets_) t->depopulate();
    }
  } catch (const std::exception& e) {
    report_.error = e.what();
  }
  for (auto& t : targets_) {
    try {
      t->depopulate();
    } catch (const std::exception&) {
    }
    t->stop();
  }
  report_.load_after = load_average();
  return report_;
}

}  // namespace chat_bench
