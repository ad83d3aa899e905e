// chat-bench's own heap allocations, when it runs under libmalloc_count.so:
//
//   LD_PRELOAD=build/perf/libmalloc_count.so CHAT_MALLOC_COUNT_FILE=/tmp/bench.allocs chat-bench …
//
// Each phase then reports the allocations chat-bench made while it ran (every thread: mostly the
// load threads; the coordinator's few progress lines count too), per datagram its load threads
// handled. The generator's per-datagram work is meant to allocate nothing.
#pragma once

#include <cstdint>
#include <optional>

namespace chat_bench {

/// Call first in main. If this process runs under libmalloc_count.so, maps its counters and takes
/// the library and its file out of the environment, so that the programs chat-bench starts do not
/// count into the same file (--count-allocs gives them their own).
void init_self_allocation_counter();
/// Allocations so far, if chat-bench runs under the counter.
std::optional<std::uint64_t> self_allocations() noexcept;

}  // namespace chat_bench
