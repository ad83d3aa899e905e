// An Asio-compatible allocator that serves handler storage from a fixed_pool, so that posting a
// datagram to its room's strand does not touch the heap. Asio allocates the posted handler, and
// the strand's invoker when the strand was idle, through the handler's associated allocator.
#pragma once

#include "fixed_pool.hpp"

#include <atomic>
#include <cstddef>
#include <new>

namespace chat_server {

struct alignas(std::max_align_t) handler_block {
  std::byte storage[256];
};

class handler_memory {
 public:
  explicit handler_memory(std::uint32_t blocks) : pool_(blocks) {}

  void* allocate(std::size_t size) {
    if (size <= sizeof(handler_block)) {
      if (handler_block* b = pool_.acquire()) return b;
    }
    fallbacks_.fetch_add(1, std::memory_order_relaxed);
    return ::operator new(size);
  }
  void deallocate(void* p) noexcept {
    if (pool_.owns(p)) pool_.release(static_cast<handler_block*>(p));
    else ::operator delete(p);
  }
  /// Allocations that had to use the heap (pool empty or handler too large): should stay 0.
  std::uint64_t fallbacks() const noexcept { return fallbacks_.load(std::memory_order_relaxed); }

 private:
  fixed_pool<handler_block> pool_;
  std::atomic<std::uint64_t> fallbacks_{0};
};

template <class T>
class pooled_allocator {
 public:
  using value_type = T;
  explicit pooled_allocator(handler_memory& memory) noexcept : memory_(&memory) {}
  template <class U>
  pooled_allocator(const pooled_allocator<U>& other) noexcept : memory_(other.memory_) {}

  T* allocate(std::size_t n) { return static_cast<T*>(memory_->allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t) noexcept { memory_->deallocate(p); }

  template <class U>
  bool operator==(const pooled_allocator<U>& other) const noexcept { return memory_ == other.memory_; }

 private:
  template <class>
  friend class pooled_allocator;
  handler_memory* memory_;
};

}  // namespace chat_server
