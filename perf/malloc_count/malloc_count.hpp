// The counters that libmalloc_count.so keeps in a shared file, for a process that reads them
// while the counted process runs (chat-bench --count-allocs).
//
// Use: LD_PRELOAD=/path/libmalloc_count.so CHAT_MALLOC_COUNT_FILE=/tmp/x.allocs program ...
// The library creates the file (one page) and maps it shared; a reader maps the same file and
// loads the counters. Each is a 64-bit counter updated with relaxed atomic increments.
#pragma once

#include <atomic>
#include <cstdint>

namespace malloc_count {

inline constexpr const char* file_variable = "CHAT_MALLOC_COUNT_FILE";
inline constexpr std::uint64_t file_magic = 0x6d616c6c6f63636eULL;  // "mallocnn"

struct counters {
  std::atomic<std::uint64_t> magic;
  std::atomic<std::uint64_t> allocations;  ///< malloc, calloc, realloc, memalign, posix_memalign, ...
  std::atomic<std::uint64_t> frees;        ///< free of a non-null pointer, realloc to size 0
  std::atomic<std::uint64_t> bytes;        ///< bytes requested by the allocations
};

}  // namespace malloc_count
