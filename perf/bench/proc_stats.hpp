// What /proc says about a process, the machine and the UDP stack, for the figures next to the
// load: the measured server's CPU time and memory, the machine's load, and where datagrams were
// dropped (a socket's receive buffer overflowing shows in RcvbufErrors and in its drops column).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace chat_bench {

struct process_sample {
  double cpu_seconds = 0;      ///< utime + stime of every thread (/proc/PID/stat)
  std::uint64_t hwm_kib = 0;   ///< peak resident set since the process started (VmHWM)
  std::uint64_t rss_kib = 0;   ///< resident set now (VmRSS)
  std::uint64_t threads = 0;
};

/// Nothing when the process is gone or unreadable.
std::optional<process_sample> sample_process(pid_t pid);

/// CPU time of this process (every thread), from getrusage.
double self_cpu_seconds();

struct machine_sample {
  std::uint64_t busy_ticks = 0;   ///< every state but idle and iowait, over all CPUs
  std::uint64_t total_ticks = 0;
};
machine_sample sample_machine();
/// Busy fraction of the whole machine (1.0 = every core busy) between two samples.
double busy_fraction(const machine_sample& from, const machine_sample& to);
/// The 1-minute load average.
double load_average();
unsigned online_cpus();

/// The kernel's UDP counters (/proc/net/snmp), summed for IPv4 and IPv6.
struct udp_counters {
  std::uint64_t in_datagrams = 0;
  std::uint64_t rcvbuf_errors = 0;
  std::uint64_t sndbuf_errors = 0;
  std::uint64_t in_errors = 0;
};
udp_counters sample_udp();

/// The drops column of the UDP socket bound to this local port (/proc/net/udp and udp6): datagrams
/// the kernel threw away because that socket's receive buffer was full. Nothing if no socket has
/// the port.
std::optional<std::uint64_t> socket_drops(std::uint16_t local_port);

}  // namespace chat_bench
