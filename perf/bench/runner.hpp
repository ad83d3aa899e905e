// The measurement plan: which shapes, which systems, fixed-rate phases or a saturation search, and
// one phase measured end to end (set the plan, watch, drain, read /proc and the counters).
#pragma once

#include "load_worker.hpp"
#include "options.hpp"
#include "targets.hpp"

#include <optional>
#include <string>
#include <vector>

namespace chat_bench {

struct phase_result {
  std::string target;
  std::string mode;  ///< fixed, max, sweep, sweep-max, idle
  bool encrypted = false;  ///< chat-server-enc: every datagram sealed and opened
  shape layout;
  double rate = 0;      ///< offered chat messages per second per member
  double duration = 0;  ///< seconds of sending
  counter_snapshot counts;
  std::uint64_t expected = 0;  ///< sent × (members − 1)
  double offered_per_s = 0;    ///< messages per second offered (members × rate)
  double sent_per_s = 0;
  double delivered_per_s = 0;  ///< deliveries that arrived while the load ran, per second
  double eventual_per_s = 0;   ///< every delivery (the drain included), per second of load
  double loss = 0;             ///< 1 − delivered / expected, after the drain
  bool kept_up = true;         ///< at least 95 % of the expected deliveries arrived while the load ran
  std::uint64_t p50_ns = 0, p99_ns = 0, p999_ns = 0, max_ns = 0;
  double wall = 0;             ///< seconds between the two /proc samples (sending + drain)
  double server_cpu_s = 0;
  double server_cpu = 0;       ///< cores: server_cpu_s / wall
  double cpu_us_per_1000 = 0;  ///< server CPU µs per 1000 delivered datagrams
  std::uint64_t hwm_kib = 0, rss_kib = 0;
  double bench_cpu = 0;        ///< cores used by chat-bench itself
  double bench_workers_cpu_s = 0;     ///< CPU time of this system's load threads
  std::uint64_t bench_datagrams = 0;  ///< datagrams they sent and received (chat, keepalives, replies)
  double bench_us_per_datagram = 0;   ///< the generator's CPU µs per datagram it handled
  std::optional<std::uint64_t> bench_allocs;      ///< chat-bench's own, under libmalloc_count.so
  std::optional<double> bench_allocs_per_datagram;
  std::uint64_t base_rss_kib = 0;  ///< the system's resident memory before any member
  double machine_busy = 0;     ///< busy fraction of all cores
  std::uint64_t rcvbuf_errors = 0;           ///< kernel-wide UDP receive-buffer drops in the phase
  std::optional<std::uint64_t> target_drops;  ///< of them, at the target's own socket
  std::optional<alloc_counts> allocs;
  std::optional<double> allocs_per_message, allocs_per_delivery;
  std::string last_notice;
  bool generator_bound = false;  ///< chat-bench sent under 95 % of the offered rate
  bool interrupted = false;
  bool retried = false;  ///< --max: a failed step that was measured again at once
};

/// One set-up of a system's members (handshakes and binds, or connects): its cost on both sides.
struct setup_result {
  std::string target;
  shape layout;
  bool encrypted = false;
  double seconds = 0;
  double server_cpu_s = 0;
  double bench_cpu_s = 0;  ///< all of chat-bench (the set-up runs on the coordinator thread)
  std::uint64_t hwm_kib = 0, rss_kib = 0, base_rss_kib = 0;
  std::uint64_t open_failures = 0;  ///< replies that did not open during the set-up
};

struct saturation_result {
  std::string target;
  shape layout;
  std::optional<phase_result> best;  ///< the step with the highest delivered/s under the loss limit
  double good_rate = 0, bad_rate = 0;
  unsigned steps = 0;
  bool generator_bound = false;
};

struct run_report {
  std::string command_line;
  unsigned cpus = 0;
  double load_before = 0, load_after = 0;
  std::string kernel;
  std::vector<std::pair<std::string, std::string>> systems;  ///< name, start-up description
  std::vector<phase_result> phases;
  std::vector<saturation_result> saturations;
  std::vector<setup_result> setups;
  double handshake_rate = 0;  ///< encrypted handshakes per second at most (0: unpaced)
  bool self_allocs = false;   ///< chat-bench ran under libmalloc_count.so
  bool swapped = false;  ///< populations were set up per phase (descriptor limit)
  std::size_t message_bytes = 0;
  std::size_t bench_threads = 0;
  std::string error;
};

class runner {
 public:
  explicit runner(const options& o);
  /// Runs everything; failures end up in report.error (with what was measured so far).
  run_report run(const std::string& command_line);

 private:
  std::vector<shape> shapes() const;
  double sweep_rate(const shape& s) const;
  void prepare(target& t, const shape& s);
  void release(target& t);
  phase_result run_phase(target& t, double rate, double duration, const std::string& mode);
  void run_fixed(const shape& s, double rate, const std::string& mode);
  void run_max(const shape& s, double start_rate, const std::string& mode);

  options opts_;
  std::vector<std::unique_ptr<target>> targets_;
  run_report report_;
  std::uint32_t epoch_ = 0;
  bool swap_ = false;
};

}  // namespace chat_bench
