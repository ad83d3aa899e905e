// libmalloc_count.so: counts the heap allocations of the process it is preloaded into, in a file
// that another process can read while this one runs. See malloc_count.hpp.
//
// Every allocation function of glibc that a program or libstdc++ (operator new calls malloc)
// reaches through the dynamic linker is wrapped; the real work goes to glibc's __libc_* entry
// points, which avoids the recursion of dlsym(RTLD_NEXT) calling malloc. Counting costs one
// relaxed atomic increment (two with the byte count) per call.
#include "malloc_count.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void __libc_free(void*);
void* __libc_memalign(std::size_t, std::size_t);
void* __libc_valloc(std::size_t);
void* __libc_pvalloc(std::size_t);
}

namespace {

malloc_count::counters early{};                 // until the shared file is mapped
std::atomic<malloc_count::counters*> shared{nullptr};

malloc_count::counters& counts() noexcept {
  auto* c = shared.load(std::memory_order_relaxed);
  return c ? *c : early;
}

void count_allocation(std::size_t bytes) noexcept {
  auto& c = counts();
  c.allocations.fetch_add(1, std::memory_order_relaxed);
  c.bytes.fetch_add(bytes, std::memory_order_relaxed);
}

void count_free() noexcept { counts().frees.fetch_add(1, std::memory_order_relaxed); }

__attribute__((constructor)) void map_counter_file() {
  const char* path = std::getenv(malloc_count::file_variable);
  if (!path || !*path) return;
  const int fd = ::open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const auto size = static_cast<off_t>(::sysconf(_SC_PAGESIZE));
  if (::ftruncate(fd, size) != 0) {
    ::close(fd);
    return;
  }
  void* page = ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (page == MAP_FAILED) return;
  auto* c = static_cast<malloc_count::counters*>(page);
  c->allocations.store(early.allocations.load(std::memory_order_relaxed), std::memory_order_relaxed);
  c->frees.store(early.frees.load(std::memory_order_relaxed), std::memory_order_relaxed);
  c->bytes.store(early.bytes.load(std::memory_order_relaxed), std::memory_order_relaxed);
  c->magic.store(malloc_count::file_magic, std::memory_order_release);
  shared.store(c, std::memory_order_release);
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) void* malloc(std::size_t size) {
  count_allocation(size);
  return __libc_malloc(size);
}

__attribute__((visibility("default"))) void free(void* p) {
  if (p) count_free();
  __libc_free(p);
}

__attribute__((visibility("default"))) void* calloc(std::size_t n, std::size_t size) {
  count_allocation(n * size);
  return __libc_calloc(n, size);
}

__attribute__((visibility("default"))) void* realloc(void* p, std::size_t size) {
  if (p && size == 0) {
    count_free();
  } else {
    count_allocation(size);
  }
  return __libc_realloc(p, size);
}

__attribute__((visibility("default"))) void* reallocarray(void* p, std::size_t n, std::size_t size) {
  std::size_t total = 0;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  return realloc(p, total);
}

__attribute__((visibility("default"))) void* memalign(std::size_t alignment, std::size_t size) {
  count_allocation(size);
  return __libc_memalign(alignment, size);
}

__attribute__((visibility("default"))) void* aligned_alloc(std::size_t alignment, std::size_t size) {
  count_allocation(size);
  return __libc_memalign(alignment, size);
}

__attribute__((visibility("default"))) int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return EINVAL;
  count_allocation(size);
  void* p = __libc_memalign(alignment, size);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}

__attribute__((visibility("default"))) void* valloc(std::size_t size) {
  count_allocation(size);
  return __libc_valloc(size);
}

__attribute__((visibility("default"))) void* pvalloc(std::size_t size) {
  count_allocation(size);
  return __libc_pvalloc(size);
}

}  // extern "C"
