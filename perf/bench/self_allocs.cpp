#include "self_allocs.hpp"

#include "../malloc_count/malloc_count.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace chat_bench {
namespace {

const malloc_count::counters* self_counters = nullptr;

// LD_PRELOAD without the entries that name the counter (the list is separated by ':' or ' ').
std::string without_counter(const std::string& preload) {
  std::string kept;
  std::string item;
  for (std::size_t i = 0; i <= preload.size(); ++i) {
    const char c = i < preload.size() ? preload[i] : ':';
    if (c != ':' && c != ' ') {
      item += c;
      continue;
    }
    if (!item.empty() && item.find("malloc_count") == std::string::npos) kept += (kept.empty() ? "" : ":") + item;
    item.clear();
  }
  return kept;
}

}  // namespace

void init_self_allocation_counter() {
  const char* file = std::getenv(malloc_count::file_variable);
  const char* preload = std::getenv("LD_PRELOAD");
  if (!file || !preload || std::string(preload).find("malloc_count") == std::string::npos) return;
  const int fd = ::open(file, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    void* page = ::mmap(nullptr, static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)), PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    const auto* c = static_cast<const malloc_count::counters*>(page);
    if (page != MAP_FAILED && c->magic.load(std::memory_order_acquire) == malloc_count::file_magic) self_counters = c;
  }
  const std::string rest = without_counter(preload);
  if (rest.empty()) {
    ::unsetenv("LD_PRELOAD");
  } else {
    ::setenv("LD_PRELOAD", rest.c_str(), 1);
  }
  ::unsetenv(malloc_count::file_variable);
}

std::optional<std::uint64_t> self_allocations() noexcept {
  if (!self_counters) return std::nullopt;
  return self_counters->allocations.load(std::memory_order_relaxed);
}

}  // namespace chat_bench
