#include "proc_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace chat_bench {
namespace {

std::optional<std::string> read_all(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::uint64_t to_u64(std::string_view s) {
  std::uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::vector<std::string_view> split_spaces(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\n') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// "VmHWM:\t  1234 kB" → 1234
std::uint64_t status_field(std::string_view status, std::string_view key) {
  const auto at = status.find(key);
  if (at == std::string_view::npos) return 0;
  auto rest = status.substr(at + key.size());
  const auto end = rest.find('\n');
  auto fields = split_spaces(rest.substr(0, end));
  return fields.empty() ? 0 : to_u64(fields[0]);
}

}  // namespace

std::optional<process_sample> sample_process(pid_t pid) {
  const std::string base = "/proc/" + std::to_string(pid);
  const auto stat = read_all(base + "/stat");
  const auto status = read_all(base + "/status");
  if (!stat || !status) return std::nullopt;
  // The command name may hold spaces and parentheses: the fields start after the last ')'.
  const auto close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  const auto fields = split_spaces(std::string_view(*stat).substr(close + 1));
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  if (fields.size() < 13) return std::nullopt;
  static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  process_sample s;
  s.cpu_seconds = static_cast<double>(to_u64(fields[11]) + to_u64(fields[12])) / ticks;
  s.hwm_kib = status_field(*status, "VmHWM:");
  s.rss_kib = status_field(*status, "VmRSS:");
  s.threads = status_field(*status, "Threads:");
  return s;
}

double self_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

machine_sample sample_machine() {
  machine_sample m;
  const auto stat = read_all("/proc/stat");
  if (!stat) return m;
  const auto line = std::string_view(*stat).substr(0, stat->find('\n'));
  const auto fields = split_spaces(line);  // cpu user nice system idle iowait irq softirq steal ...
  for (std::size_t i = 1; i < fields.size() && i <= 8; ++i) {
    const auto v = to_u64(fields[i]);
    m.total_ticks += v;
    if (i != 4 && i != 5) m.busy_ticks += v;
  }
  return m;
}

double busy_fraction(const machine_sample& from, const machine_sample& to) {
  const auto total = to.total_ticks - from.total_ticks;
  if (total == 0) return 0;
  return static_cast<double>(to.busy_ticks - from.busy_ticks) / static_cast<double>(total);
}

double load_average() {
  double avg[1] = {0};
  if (::getloadavg(avg, 1) != 1) return 0;
  return avg[0];
}

unsigned online_cpus() {
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<unsigned>(n) : std::max(1u, std::thread::hardware_concurrency());
}

udp_counters sample_udp() {
  udp_counters c;
  // /proc/net/snmp: a "Udp:" header line with names, then a "Udp:" line with values.
  auto add_from = [&c](const std::string& path, std::string_view prefix) {
    const auto text = read_all(path);
    if (!text) return;
    std::istringstream in(*text);
    std::string names;
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(prefix, 0) != 0) continue;
      if (names.empty()) {
        names = line;
        continue;
      }
      const auto keys = split_spaces(names);
      const auto values = split_spaces(line);
      for (std::size_t i = 1; i < keys.size() && i < values.size(); ++i) {
        if (keys[i] == "InDatagrams") c.in_datagrams += to_u64(values[i]);
        if (keys[i] == "RcvbufErrors") c.rcvbuf_errors += to_u64(values[i]);
        if (keys[i] == "SndbufErrors") c.sndbuf_errors += to_u64(values[i]);
        if (keys[i] == "InErrors") c.in_errors += to_u64(values[i]);
      }
      return;
    }
  };
  add_from("/proc/net/snmp", "Udp: ");
  // /proc/net/snmp6 is "Udp6InDatagrams   123" per line.
  if (const auto text = read_all("/proc/net/snmp6")) {
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
      const auto f = split_spaces(line);
      if (f.size() != 2) continue;
      if (f[0] == "Udp6InDatagrams") c.in_datagrams += to_u64(f[1]);
      if (f[0] == "Udp6RcvbufErrors") c.rcvbuf_errors += to_u64(f[1]);
      if (f[0] == "Udp6SndbufErrors") c.sndbuf_errors += to_u64(f[1]);
      if (f[0] == "Udp6InErrors") c.in_errors += to_u64(f[1]);
    }
  }
  return c;
}

std::optional<std::uint64_t> socket_drops(std::uint16_t local_port) {
  // Lines: "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout
  // inode ref pointer drops"; local_address is HEXIP:HEXPORT.
  char port_hex[8];
  std::snprintf(port_hex, sizeof port_hex, ":%04X", static_cast<unsigned>(local_port));
  std::optional<std::uint64_t> total;
  for (const char* path : {"/proc/net/udp", "/proc/net/udp6"}) {
    const auto text = read_all(path);
    if (!text) continue;
    std::istringstream in(*text);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      const auto f = split_spaces(line);
      if (f.size() < 13) continue;
      const auto local = f[1];
      if (local.size() < 5 || local.substr(local.size() - 5) != port_hex) continue;
      total = total.value_or(0) + to_u64(f.back());
    }
  }
  return total;
}

}  // namespace chat_bench
