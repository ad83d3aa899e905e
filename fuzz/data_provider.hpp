// FuzzedDataProvider: clang's (<fuzzer/FuzzedDataProvider.h>) when the compiler ships it, else a
// small stand-in with the same semantics for the calls the targets make, so that the gcc build's
// replay driver splits an input exactly as libFuzzer's build does:
//   - integers are taken from the END of the input, one byte at a time (the last byte first),
//     as many bytes as the range needs, and reduced modulo the range's size; an exhausted input
//     gives the range's minimum;
//   - bytes are taken from the FRONT.
// Define LIBCHAT_FUZZ_OWN_PROVIDER to use the stand-in with clang too (to compare the two).
#pragma once

#if __has_include(<fuzzer/FuzzedDataProvider.h>) && !defined(LIBCHAT_FUZZ_OWN_PROVIDER)
#include <fuzzer/FuzzedDataProvider.h>
#else
#include <climits>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

class FuzzedDataProvider {
 public:
  FuzzedDataProvider(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  template <typename T>
  T ConsumeIntegralInRange(T min, T max) {
    static_assert(std::is_integral_v<T> && sizeof(T) <= sizeof(std::uint64_t));
    const std::uint64_t span = static_cast<std::uint64_t>(max) - static_cast<std::uint64_t>(min);
    std::uint64_t value = 0;
    for (std::size_t bits = 0; bits < sizeof(T) * CHAR_BIT && (span >> bits) != 0 && size_ != 0; bits += CHAR_BIT) {
      --size_;
      value = (value << CHAR_BIT) | data_[size_];
    }
    if (span != std::numeric_limits<std::uint64_t>::max()) value %= span + 1;
    return static_cast<T>(static_cast<std::uint64_t>(min) + value);
  }
  template <typename T>
  T ConsumeIntegral() {
    return ConsumeIntegralInRange<T>(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  }
  bool ConsumeBool() { return (ConsumeIntegral<std::uint8_t>() & 1) != 0; }

  template <typename T>
  std::vector<T> ConsumeBytes(std::size_t n) {
    static_assert(sizeof(T) == 1);
    if (n > size_) n = size_;
    std::vector<T> out(data_, data_ + n);
    data_ += n;
    size_ -= n;
    return out;
  }
  template <typename T>
  std::vector<T> ConsumeRemainingBytes() {
    static_assert(sizeof(T) == 1);
    std::vector<T> out(size_);
    for (std::size_t i = 0; i < size_; ++i) out[i] = static_cast<T>(data_[i]);
    data_ += size_;
    size_ = 0;
    return out;
  }
  std::size_t remaining_bytes() const { return size_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
};
#endif
