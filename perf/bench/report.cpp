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
  std::vector<double> cpu, p99, delivered, loss;
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
  if (r.swapped) out += "  (members were set up per phase: not enough file descriptors for all systems at once)\n";
  out += "\n";
  out += format("%-12s %-9s %-9s %7s %9s %10s %8s %7s %7s %7s %8s %7s %9s %8s %6s %6s\n", "system", "mode", "shape",
                "rate/s", "sent/s", "deliv/s", "loss%", "p50ms", "p99ms", "p99.9", "max ms", "srvCPU", "us/1k dlv",
                "HWM MiB", "bench", "busy");
  for (const auto& p : r.phases) {
    out += format("%-12s %-9s %-9s %7.3g %9.0f %10.0f %8.4f %7.3f %7.3f %7.3f %8.2f %6.1f%% %9.1f %8.1f %5.0f%% %5.0f%%",
                  p.target.c_str(), p.mode.c_str(), p.layout.to_string().c_str(), p.rate, p.sent_per_s,
                  p.delivered_per_s, 100.0 * p.loss, ms(p.p50_ns), ms(p.p99_ns), ms(p.p999_ns), ms(p.max_ns),
                  100.0 * p.server_cpu, p.cpu_us_per_1000, static_cast<double>(p.hwm_kib) / 1024.0,
                  100.0 * p.bench_cpu, 100.0 * p.machine_busy);
    if (!p.kept_up) out += "  fell-behind";
    if (p.generator_bound) out += "  generator-bound";
    if (p.interrupted) out += "  interrupted";
    if (p.retried) out += "  (measured again)";
    out += "\n";
  }
  // Where datagrams were lost and what the server allocated.
  bool extra = false;
  for (const auto& p : r.phases) {
    if (p.rcvbuf_errors || p.allocs || p.counts.skipped || !p.last_notice.empty()) extra = true;
  }
  if (extra) {
    out += "\n";
    for (const auto& p : r.phases) {
      std::string line = format("%-12s %-9s %-9s rate %-7.3g", p.target.c_str(), p.mode.c_str(),
                                p.layout.to_string().c_str(), p.rate);
      if (p.rcvbuf_errors) {
        line += format("  kernel rcvbuf drops %llu", static_cast<unsigned long long>(p.rcvbuf_errors));
        if (p.target_drops) line += format(" (%llu at the system's socket)", static_cast<unsigned long long>(*p.target_drops));
      }
      if (p.counts.skipped) line += format("  skipped sends %llu", static_cast<unsigned long long>(p.counts.skipped));
      if (p.allocs) {
        line += format("  allocations %llu (%.3f per incoming datagram, %.3f per delivery)",
                       static_cast<unsigned long long>(p.allocs->allocations), p.allocs_per_message.value_or(0),
                       p.allocs_per_delivery.value_or(0));
      }
      if (!p.last_notice.empty()) line += "  last notice: " + p.last_notice;
      out += line + "\n";
    }
  }

  if (!r.saturations.empty()) {
    out += "\nsaturation: the highest delivered datagrams/s with loss under the limit\n";
    for (const auto& s : r.saturations) {
      if (!s.best) {
        out += format("  %-12s %-9s no step under the loss limit (%u steps)\n", s.target.c_str(),
                      s.layout.to_string().c_str(), s.steps);
        continue;
      }
      const auto* relay = find_best(r, "limit-relay", s.layout.to_string());
      std::string ratio;
      if (relay && s.target != "limit-relay") ratio = format("  = %.2f x limit-relay", s.best->delivered_per_s / relay->delivered_per_s);
      out += format("  %-12s %-9s %10.0f delivered/s at %.3g msg/s/member (loss %.3f%%, p99 %.3f ms, server %.0f%% cpu, "
                    "%.1f us/1k)%s%s\n",
                    s.target.c_str(), s.layout.to_string().c_str(), s.best->delivered_per_s, s.best->rate,
                    100.0 * s.best->loss, ms(s.best->p99_ns), 100.0 * s.best->server_cpu, s.best->cpu_us_per_1000,
                    ratio.c_str(), s.generator_bound ? "  [generator-bound: chat-bench could not offer more]" : "");
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
  }
  std::string ratios;
  for (const auto& [key, f] : fixed) {
    if (key.second == "limit-relay") continue;
    const auto relay = fixed.find({key.first, "limit-relay"});
    if (relay == fixed.end() || median(relay->second.cpu) <= 0) continue;
    ratios += format("  %-12s %-9s server CPU %.2f x limit-relay's, p99 %.3f ms vs %.3f ms\n", key.second.c_str(),
                     key.first.c_str(), median(f.cpu) / median(relay->second.cpu), median(f.p99) / 1e6,
                     median(relay->second.p99) / 1e6);
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
    o["server_cpu_s"] = p.server_cpu_s;
    o["server_cpu_cores"] = p.server_cpu;
    o["server_cpu_us_per_1000_deliveries"] = p.cpu_us_per_1000;
    o["server_vmhwm_kib"] = p.hwm_kib;
    o["server_vmrss_kib"] = p.rss_kib;
    o["bench_cpu_cores"] = p.bench_cpu;
    o["machine_busy"] = p.machine_busy;
    o["wall_s"] = p.wall;
    o["keepalives"] = p.counts.keepalives;
    o["pongs"] = p.counts.pongs;
    o["notices"] = p.counts.notices;
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
  if (!r.error.empty()) root["error"] = r.error;
  return json::serialize(root) + "\n";
}

}  // namespace chat_bench
