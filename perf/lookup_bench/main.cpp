// room-lookup-bench: what a datagram's room lookup costs with 1 and 2 threads looking up at once,
// for the room table as it was (one lock, one map: name_table<..., 1>) and as it is (32 shards).
// Each thread looks up random names of the table for a fixed time; the figure is nanoseconds per
// lookup per thread. The shape is the scaling question's: many small rooms.
//
//   room-lookup-bench [--rooms N] [--seconds S]
#include "name_table.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

struct room {
  int id = 0;
};

// Runs `threads` threads for `seconds`, each calling lookup(name) on random names in rounds of 256,
// and returns nanoseconds per lookup per thread. lookup returns a number folded into a sink, so
// that the work cannot be optimised away.
template <typename Lookup>
double nanoseconds_per_call(const std::vector<std::string>& names, unsigned threads, double seconds, Lookup lookup) {
  std::atomic<bool> go{false}, stop{false};
  std::vector<std::uint64_t> counts(threads, 0);
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937 random(t + 1);
      std::uniform_int_distribution<std::size_t> pick(0, names.size() - 1);
      std::uint64_t n = 0, sink = 0;
      while (!go.load(std::memory_order_acquire)) {
      }
      while (!stop.load(std::memory_order_relaxed)) {
        for (int i = 0; i < 256; ++i) sink += lookup(names[pick(random)]);
        n += 256;
      }
      counts[t] = n + (sink == 42 ? 1 : 0);
    });
  }
  go.store(true, std::memory_order_release);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop.store(true);
  for (auto& w : workers) w.join();
  std::uint64_t total = 0;
  for (auto c : counts) total += c;
  return seconds * 1e9 * threads / static_cast<double>(total);
}

template <std::size_t Shards>
double nanoseconds_per_lookup(const std::vector<std::string>& names, unsigned threads, double seconds) {
  chat_server::name_table<room, Shards> table;
  for (std::size_t i = 0; i < names.size(); ++i)
    table.insert(names[i], std::make_shared<room>(room{int(i)}), names.size());
  return nanoseconds_per_call(names, threads, seconds, [&](const std::string& name) -> std::uint64_t {
    auto found = table.find(name);
    if (!found) std::abort();  // every name is in the table
    return static_cast<std::uint64_t>(found->id);
  });
}

// The same lookups with neither lock nor shared_ptr copy, in a plain map that nobody writes:
// what is left when nothing is shared (the ceiling), and the keyed hash alone.
double nanoseconds_unshared(const std::vector<std::string>& names, unsigned threads, double seconds, bool hash_only) {
  chat_server::name_hasher hasher;
  struct hash {
    const chat_server::name_hasher* h;
    std::size_t operator()(const std::string& s) const noexcept { return (*h)(s); }
  };
  std::unordered_map<std::string, std::unique_ptr<room>, hash> map(0, hash{&hasher});
  for (std::size_t i = 0; i < names.size(); ++i) map.emplace(names[i], std::make_unique<room>(room{int(i)}));
  return nanoseconds_per_call(names, threads, seconds, [&](const std::string& name) -> std::uint64_t {
    return hash_only ? hasher(name) : static_cast<std::uint64_t>(map.find(name)->second->id);
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t rooms = 2500;
  double seconds = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--rooms") == 0)
      rooms = std::strtoul(argv[i + 1], nullptr, 10);
    else if (std::strcmp(argv[i], "--seconds") == 0)
      seconds = std::strtod(argv[i + 1], nullptr);
    else {
      std::fprintf(stderr, "usage: room-lookup-bench [--rooms N] [--seconds S]\n");
      return 2;
    }
  }
  std::vector<std::string> names;
  for (std::size_t i = 0; i < rooms; ++i) names.push_back("room-" + std::to_string(i * 7919 % 1000003));
  std::printf("room lookups, %zu rooms, %.1f s per case (ns per lookup per thread; lower is better)\n", rooms, seconds);
  std::printf("%-34s %10s %10s\n", "table", "1 thread", "2 threads");
  const double one_1 = nanoseconds_per_lookup<1>(names, 1, seconds);
  const double one_2 = nanoseconds_per_lookup<1>(names, 2, seconds);
  std::printf("%-34s %10.1f %10.1f\n", "one lock, one map (before)", one_1, one_2);
  const double sharded_1 = nanoseconds_per_lookup<32>(names, 1, seconds);
  const double sharded_2 = nanoseconds_per_lookup<32>(names, 2, seconds);
  std::printf("%-34s %10.1f %10.1f\n", "32 shards, hash once (after)", sharded_1, sharded_2);
  std::printf("%-34s %10.1f %10.1f\n", "no lock, no refcount (the ceiling)",
              nanoseconds_unshared(names, 1, seconds, false), nanoseconds_unshared(names, 2, seconds, false));
  std::printf("%-34s %10.1f %10.1f\n", "the keyed hash alone", nanoseconds_unshared(names, 1, seconds, true),
              nanoseconds_unshared(names, 2, seconds, true));
  return 0;
}
