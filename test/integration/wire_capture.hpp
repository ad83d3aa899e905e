// Records every packet on the loopback interface while it lives (an AF_PACKET socket: needs root
// or CAP_NET_RAW), so that a test can check what an eavesdropper on the path would see.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>

namespace chat_test {

class wire_capture {
 public:
  wire_capture();
  ~wire_capture();
  /// False when the process may not capture (not root): the caller says so and skips.
  bool active() const noexcept { return fd_ >= 0; }
  /// Everything seen so far, packets concatenated with their headers.
  std::string bytes() const;
  std::size_t packets() const;
  /// Packets the kernel dropped before the capture could read them (PACKET_STATISTICS).
  std::size_t dropped() const;

 private:
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::string seen_;
  std::size_t packets_ = 0;
  std::thread reader_;
};

}  // namespace chat_test
