// A fixed set of objects handed out and returned from any thread without locks or heap
// allocation: an index-based Treiber stack whose head carries a tag against ABA. The relay's hot
// path takes datagram slots and handler memory from pools like this one.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace chat_server {

template <class T>
class fixed_pool {
 public:
  explicit fixed_pool(std::uint32_t capacity)
      : capacity_(capacity), items_(new T[capacity]), next_(new std::atomic<std::uint32_t>[capacity]) {
    for (std::uint32_t i = 0; i < capacity; ++i) next_[i].store(i + 1 < capacity ? i + 2 : 0, std::memory_order_relaxed);
    head_.store(capacity ? 1 : 0, std::memory_order_relaxed);
  }
  fixed_pool(const fixed_pool&) = delete;
  fixed_pool& operator=(const fixed_pool&) = delete;

  /// An object, or nullptr when all are in use.
  T* acquire() noexcept {
    std::uint64_t head = head_.load(std::memory_order_acquire);
    for (;;) {
      const std::uint32_t top = static_cast<std::uint32_t>(head);  // index + 1; 0 = empty
      if (top == 0) return nullptr;
      const std::uint64_t next = (head & ~std::uint64_t{0xffffffff}) + (std::uint64_t{1} << 32) +
                                 next_[top - 1].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(head, next, std::memory_order_acq_rel, std::memory_order_acquire))
        return &items_[top - 1];
    }
  }

  /// Returns an object obtained from acquire().
  void release(T* item) noexcept {
    const auto index = static_cast<std::uint32_t>(item - items_.get());
    std::uint64_t head = head_.load(std::memory_order_relaxed);
    for (;;) {
      next_[index].store(static_cast<std::uint32_t>(head), std::memory_order_relaxed);
      const std::uint64_t top = (head & ~std::uint64_t{0xffffffff}) + (std::uint64_t{1} << 32) + index + 1;
      if (head_.compare_exchange_weak(head, top, std::memory_order_acq_rel, std::memory_order_relaxed)) return;
    }
  }

  bool owns(const void* p) const noexcept {
    const auto* t = static_cast<const T*>(p);
    return t >= items_.get() && t < items_.get() + capacity_;
  }

 private:
  std::uint32_t capacity_;
  std::unique_ptr<T[]> items_;
  std::unique_ptr<std::atomic<std::uint32_t>[]> next_;
  std::atomic<std::uint64_t> head_{0};  // high 32 bits: tag; low 32: top index + 1
};

}  // namespace chat_server
