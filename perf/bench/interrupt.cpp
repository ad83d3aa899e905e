#include "interrupt.hpp"

#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <thread>

namespace chat_bench {
namespace {

std::atomic<bool> flag{false};
std::array<std::atomic<pid_t>, 16> children{};

void kill_children() noexcept {
  for (auto& c : children) {
    const pid_t pid = c.load();
    if (pid > 0) ::kill(pid, SIGKILL);
  }
}

void on_signal(int) {
  if (flag.exchange(true)) {
    kill_children();
    ::_exit(130);
  }
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

bool interrupted() noexcept { return flag.load(std::memory_order_relaxed); }

void register_child(pid_t pid) noexcept {
  for (auto& c : children) {
    pid_t empty = 0;
    if (c.compare_exchange_strong(empty, pid)) return;
  }
}

void unregister_child(pid_t pid) noexcept {
  for (auto& c : children) {
    pid_t expected = pid;
    if (c.compare_exchange_strong(expected, 0)) return;
  }
}

void arm_watchdog(std::chrono::seconds budget) {
  std::thread([budget] {
    std::this_thread::sleep_for(budget);
    static const char message[] = "chat-bench: watchdog: still running past its time budget; stopping\n";
    [[maybe_unused]] const auto n = ::write(STDERR_FILENO, message, sizeof message - 1);
    kill_children();
    ::_exit(4);
  }).detach();
}

}  // namespace chat_bench
