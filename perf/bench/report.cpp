#include "report.hpp"

#include <boost/json.hpp>

#include <cstdio>
#include <map>

namespace chat_bench {
namespace {

std::string format(const char* fmt, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

const phase_result* find_best(const run_report& r, const std::string& target, const std::string& shape_text) {
  for (const auto& s : r.saturations) {
    if (s.target == target && s.layout.to_string() == shape_text && s.best) return &*s.best;
  }
  return nullptr;
}

// Medians per (target, shape) of the fixed-rate phases, for the ratios.
struct fixed_summary {
  std::vector<double> cpu, p99, delivered, loss, us_per_delivery, bench_us;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

std::string format_table(const run_report& r) {
  std::string out;
  out += format("chat-bench on %s, %u cores; load average %.2f before, %.2f after\n", r.kernel.c_str(), r.cpus,
                r.load_before, r.load_after);
  out += format("  %zu-byte messages, %zu load threads per system\n", r.message_bytes, r.bench_threads);
  for (const auto& [name, what] : r.systems) out += "  " + name + ": " + what + "\n";
  for (const auto& [name, what] : r.systems) {
    if (name != "chat-server-enc") continue;
    out += "  chat-server-enc: encrypted sessions (X25519 handshakes, AES-256-GCM datagrams sealed and opened by\n"
           "    chat-bench too); handshakes ";
    out += r.handshake_rate > 0 ? format("paced at %.0f/s", r.handshake_rate) : std::string("unpaced");
    out += "\n";
  }
  if (r.swapped) out += "  (members were set up per phase: not enough file descriptors for all systems at once)\n";
  out += "\n";
  out += format("%-15s %-9s %-9s %7s %9s %10s %8s %7s %7s %7s %8s %7s %9s %8s %6s %7s %6s\n", "system", "mode",
                "shape", "rate/s", "sent/s", "deliv/s", "loss%", "p50ms", "p99ms", "p99.9", "max ms", "srvCPU",
                "us/1k dlv", "HWM MiB", "bench", "us/dgram", "busy");
  for (const auto& p : r.phases) {
    out += format("%-15s %-9s %-9s %7.3g %9.0f %10.0f %8.4f %7.3f %7.3f %7.3f %8.2f %6.1f%% %9.1f %8.1f %5.0f%% %7.2f %5.0f%%",
                  p.target.c_str(), p.mode.c_str(), p.layout.to_string().c_str(), p.rate, p.sent_per_s,
                  p.delivered_per_s, 100.0 * p.loss, ms(p.p50_ns), ms(p.p99_ns), ms(p.p999_ns), ms(p.max_ns),
                  100.0 * p.server_cpu, p.cpu_us_per_1000, static_cast<double>(p.hwm_kib) / 1024.0,
                  100.0 * p.bench_cpu, p.bench_us_per_datagram, 100.0 * p.machine_busy);
    if (p.counts.open_failed) out += format("  NOT-OPENED %llu", static_cast<unsigned long long>(p.counts.open_failed));
    if (!p.kept_up) out += "  fell-behind";
    if (p.generator_bound) out += "  generator-bound";
    if (p.interrupted) out += "  interrupted";
    if (p.retried) out += "  (measured again)";
    out += "\n";
  }
  // Where datagrams were lost and what the server allocated.
  bool extra = false;
  for (const auto& p : r.phases) {
    if (p.rcvbuf_errors || p.allocs || p.bench_allocs || p.encrypted || p.counts.skipped || p.counts.rate_limited ||
        !p.last_notice.empty()) {
      extra = true;
    }
  }
  if (extra) {
    out += "\n";
    for (const auto& p : r.phases) {
      std::string line = format("%-15s %-9s %-9s rate %-7.3g", p.target.c_str(), p.mode.c_str(),
                                p.layout.to_string().c_str(), p.rate);
      if (p.encrypted) {
        line += format("  datagrams that did not open %llu", static_cast<unsigned long long>(p.counts.open_failed));
      }
      if (p.rcvbuf_errors) {
        line += format("  kernel rcvbuf drops %llu", static_cast<unsigned long long>(p.rcvbuf_errors));
        if (p.target_drops) line += format(" (%llu at the system's socket)", static_cast<unsigned long long>(*p.target_drops));
      }
      if (p.counts.rate_limited) {
        line += format("  rate_limited notices %llu", static_cast<unsigned long long>(p.counts.rate_limited));
      }
      if (p.counts.skipped) line += format("  skipped sends %llu", static_cast<unsigned long long>(p.counts.skipped));
      if (p.allocs) {
        line += format("  allocations %llu (%.3f per incoming datagram, %.3f per delivery)",
                       static_cast<unsigned long long>(p.allocs->allocations), p.allocs_per_message.value_or(0),
                       p.allocs_per_delivery.value_or(0));
      }
      if (p.bench_allocs) {
        line += format("  chat-bench allocations %llu (%.5f per datagram it handled)",
                       static_cast<unsigned long long>(*p.bench_allocs), p.bench_allocs_per_datagram.value_or(0));
      }
      if (!p.last_notice.empty()) line += "  last notice: " + p.last_notice;
      out += line + "\n";
    }
  }

  // Set-ups: what a member costs to create, on both sides.
  if (!r.setups.empty()) {
    out += "\nset-ups (handshakes and binds; chat-bench's CPU is the whole process's):\n";
    for (const auto& u : r.setups) {
      const double n = static_cast<double>(u.layout.total());
      out += format("  %-15s %-9s %6.0f members in %6.2f s (%6.0f/s): server %7.1f us CPU per member, chat-bench "
                    "%7.1f us; server RSS %.1f MiB (HWM %.1f)",
                    u.target.c_str(), u.layout.to_string().c_str(), n, u.seconds, u.seconds > 0 ? n / u.seconds : 0.0,
                    u.server_cpu_s * 1e6 / n, u.bench_cpu_s * 1e6 / n, static_cast<double>(u.rss_kib) / 1024.0,
                    static_cast<double>(u.hwm_kib) / 1024.0);
      if (u.open_failures) out += format("  %llu replies did not open", static_cast<unsigned long long>(u.open_failures));
      out += "\n";
    }
  }

  // Memory per member, from the idle phases: the system's memory over what it had at start.
  bool idle = false;
  for (const auto& p : r.phases) idle = idle || p.mode == "idle";
  if (idle) {
    out += "\nmemory per member (idle phases; RSS and peak RSS over the RSS right after start):\n";
    for (const auto& p : r.phases) {
      if (p.mode != "idle") continue;
      const double n = static_cast<double>(p.layout.total());
      auto per = [&](std::uint64_t kib) {
        return kib > p.base_rss_kib ? static_cast<double>(kib - p.base_rss_kib) * 1024.0 / n : 0.0;
      };
      out += format("  %-15s %-9s %6.0f members: RSS %7.1f MiB, HWM %7.1f MiB, at start %5.1f MiB: %7.0f B per member "
                    "(RSS), %7.0f B (HWM); %llu keepalives, %llu pongs\n",
                    p.target.c_str(), p.layout.to_string().c_str(), n, static_cast<double>(p.rss_kib) / 1024.0,
                    static_cast<double>(p.hwm_kib) / 1024.0, static_cast<double>(p.base_rss_kib) / 1024.0,
                    per(p.rss_kib), per(p.hwm_kib), static_cast<unsigned long long>(p.counts.keepalives),
                    static_cast<unsigned long long>(p.counts.pongs));
    }
  }

  if (!r.saturations.empty()) {
    out += "\nsaturation: the highest delivered datagrams/s with loss under the limit\n";
    for (const auto& s : r.saturations) {
      if (!s.best) {
        out += format("  %-15s %-9s no step under the loss limit (%u steps)\n", s.target.c_str(),
                      s.layout.to_string().c_str(), s.steps);
        continue;
      }
      std::string ratio;
      for (const char* other : {"chat-server", "limit-relay"}) {
        const auto* o = find_best(r, other, s.layout.to_string());
        if (o && s.target != other && !(s.target == "limit-relay" && std::string(other) == "chat-server")) {
          ratio += format("  = %.2f x %s", s.best->delivered_per_s / o->delivered_per_s, other);
        }
      }
      out += format("  %-15s %-9s %10.0f delivered/s at %.3g msg/s/member (loss %.3f%%, p99 %.3f ms, server %.0f%% cpu, "
                    "%.1f us/1k, chat-bench %.2f us/datagram)%s%s\n",
                    s.target.c_str(), s.layout.to_string().c_str(), s.best->delivered_per_s, s.best->rate,
                    100.0 * s.best->loss, ms(s.best->p99_ns), 100.0 * s.best->server_cpu, s.best->cpu_us_per_1000,
                    s.best->bench_us_per_datagram, ratio.c_str(),
                    s.generator_bound ? "  [generator-bound: chat-bench could not offer more]" : "");
    }
  }

  // Ratios of the fixed-rate phases against limit-relay, from the medians of this run.
  std::map<std::pair<std::string, std::string>, fixed_summary> fixed;
  for (const auto& p : r.phases) {
    if (p.mode != "fixed" && p.mode != "sweep") continue;  // ratios of the same load only
    auto& f = fixed[{p.layout.to_string(), p.target}];
    f.cpu.push_back(p.server_cpu_s);
    f.p99.push_back(static_cast<double>(p.p99_ns));
    f.delivered.push_back(p.delivered_per_s);
    f.loss.push_back(p.loss);
    f.us_per_delivery.push_back(p.cpu_us_per_1000 / 1000.0);
    f.bench_us.push_back(p.bench_us_per_datagram);
  }
  std::string ratios;
  for (const auto& [key, f] : fixed) {
    if (key.second == "limit-relay") continue;
    for (const char* other : {"chat-server", "limit-relay"}) {
      if (key.second == other || (key.second == "mosquitto" && std::string(other) == "chat-server")) continue;
      const auto o = fixed.find({key.first, other});
      if (o == fixed.end() || median(o->second.cpu) <= 0) continue;
      ratios += format("  %-15s %-9s server CPU %.2f x %s's (%.3f vs %.3f us per delivery), p99 %.3f ms vs %.3f ms, "
                       "chat-bench %.2f vs %.2f us/datagram\n",
                       key.second.c_str(), key.first.c_str(), median(f.cpu) / median(o->second.cpu), other,
                       median(f.us_per_delivery), median(o->second.us_per_delivery), median(f.p99) / 1e6,
                       median(o->second.p99) / 1e6, median(f.bench_us), median(o->second.bench_us));
    }
  }
  if (!ratios.empty()) out += "\nsame-run ratios (medians of the fixed-rate phases):\n" + ratios;
  if (!r.error.empty()) out += "\nerror: " + r.error + "\n";
  return out;
}

std::string format_json(const run_report& r) {
  namespace json = boost::json;
  auto phase = [](const phase_result& p) {
    json::object o;
    o["system"] = p.target;
    o["mode"] = p.mode;
    o["encrypted"] = p.encrypted;
    o["rooms"] = p.layout.rooms;
    o["members"] = p.layout.members;
    o["rate_per_member"] = p.rate;
    o["duration_s"] = p.duration;
    o["sent"] = p.counts.sent;
    o["expected"] = p.expected;
    o["delivered"] = p.counts.delivered;
    o["lost"] = p.expected > p.counts.delivered ? p.expected - p.counts.delivered : 0;
    o["loss"] = p.loss;
    o["offered_per_s"] = p.offered_per_s;
    o["sent_per_s"] = p.sent_per_s;
    o["delivered_per_s"] = p.delivered_per_s;
    o["delivered_in_window"] = p.counts.in_window;
    o["eventual_delivered_per_s"] = p.eventual_per_s;
    o["kept_up"] = p.kept_up;
    o["latency_ms"] = json::object{{"p50", ms(p.p50_ns)}, {"p99", ms(p.p99_ns)}, {"p99.9", ms(p.p999_ns)}, {"max", ms(p.max_ns)}};
    // The distribution, for plots: [fraction, ms] pairs from the phase's histogram.
    if (p.counts.latency.total() > 0) {
      json::array cdf;
      for (double f : {0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999})
        cdf.push_back(json::array{f, ms(p.counts.latency.percentile(f))});
      o["latency_cdf_ms"] = std::move(cdf);
    }
    o["server_cpu_s"] = p.server_cpu_s;
    o["server_cpu_cores"] = p.server_cpu;
    o["server_cpu_us_per_1000_deliveries"] = p.cpu_us_per_1000;
    o["server_vmhwm_kib"] = p.hwm_kib;
    o["server_vmrss_kib"] = p.rss_kib;
    o["bench_cpu_cores"] = p.bench_cpu;
    o["bench_workers_cpu_s"] = p.bench_workers_cpu_s;
    o["bench_datagrams"] = p.bench_datagrams;
    o["bench_cpu_us_per_datagram"] = p.bench_us_per_datagram;
    if (p.bench_allocs) o["bench_allocations"] = *p.bench_allocs;
    if (p.bench_allocs_per_datagram) o["bench_allocations_per_datagram"] = *p.bench_allocs_per_datagram;
    o["datagrams_not_opened"] = p.counts.open_failed;
    o["datagrams_received"] = p.counts.received;
    o["server_base_rss_kib"] = p.base_rss_kib;
    o["machine_busy"] = p.machine_busy;
    o["wall_s"] = p.wall;
    o["keepalives"] = p.counts.keepalives;
    o["pongs"] = p.counts.pongs;
    o["notices"] = p.counts.notices;
    o["rate_limited_notices"] = p.counts.rate_limited;
    o["stale"] = p.counts.stale;
    o["skipped_sends"] = p.counts.skipped;
    o["send_failed"] = p.counts.send_failed;
    o["malformed"] = p.counts.malformed;
    o["kernel_udp_rcvbuf_errors"] = p.rcvbuf_errors;
    if (p.target_drops) o["system_socket_drops"] = *p.target_drops;
    if (p.allocs) {
      o["allocations"] = p.allocs->allocations;
      o["frees"] = p.allocs->frees;
      o["allocated_bytes"] = p.allocs->bytes;
      if (p.allocs_per_message) o["allocations_per_incoming_datagram"] = *p.allocs_per_message;
      if (p.allocs_per_delivery) o["allocations_per_delivery"] = *p.allocs_per_delivery;
    }
    if (!p.last_notice.empty()) o["last_notice"] = p.last_notice;
    o["generator_bound"] = p.generator_bound;
    o["interrupted"] = p.interrupted;
    o["retried"] = p.retried;
    return o;
  };
  json::object root;
  root["command"] = r.command_line;
  root["kernel"] = r.kernel;
  root["cpus"] = r.cpus;
  root["message_bytes"] = r.message_bytes;
  root["bench_threads_per_system"] = r.bench_threads;
  root["load_average_before"] = r.load_before;
  root["load_average_after"] = r.load_after;
  json::object systems;
  for (const auto& [name, what] : r.systems) systems[name] = what;
  root["systems"] = std::move(systems);
  root["swapped_populations"] = r.swapped;
  json::array phases;
  for (const auto& p : r.phases) phases.push_back(phase(p));
  root["phases"] = std::move(phases);
  json::array saturations;
  for (const auto& s : r.saturations) {
    json::object o;
    o["system"] = s.target;
    o["rooms"] = s.layout.rooms;
    o["members"] = s.layout.members;
    o["steps"] = s.steps;
    o["good_rate"] = s.good_rate;
    o["bad_rate"] = s.bad_rate;
    o["generator_bound"] = s.generator_bound;
    if (s.best) {
      o["delivered_per_s"] = s.best->delivered_per_s;
      o["best"] = phase(*s.best);
    } else {
      o["delivered_per_s"] = nullptr;
    }
    saturations.push_back(std::move(o));
  }
  root["saturations"] = std::move(saturations);
  json::array setups;
  for (const auto& u : r.setups) {
    json::object o;
    o["system"] = u.target;
    o["rooms"] = u.layout.rooms;
    o["members"] = u.layout.members;
    o["encrypted"] = u.encrypted;
    o["seconds"] = u.seconds;
    o["server_cpu_s"] = u.server_cpu_s;
    o["bench_cpu_s"] = u.bench_cpu_s;
    o["server_vmhwm_kib"] = u.hwm_kib;
    o["server_vmrss_kib"] = u.rss_kib;
    o["server_base_rss_kib"] = u.base_rss_kib;
    o["replies_not_opened"] = u.open_failures;
    setups.push_back(std::move(o));
  }
  root["setups"] = std::move(setups);
  root["handshake_rate"] = r.handshake_rate;
  if (!r.error.empty()) root["error"] = r.error;
  return json::serialize(root) + "\n";
}

}  // namespace chat_bench
