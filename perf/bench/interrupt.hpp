// Ctrl-C and SIGTERM: chat-bench ends the phase that runs, stops its children and still reports
// what it measured. A second signal, or the watchdog, kills the children chat-bench started and
// ends it at once.
#pragma once

#include <sys/types.h>

#include <chrono>

namespace chat_bench {

void install_interrupt_handlers();
bool interrupted() noexcept;

/// Children to kill if chat-bench has to end abruptly.
void register_child(pid_t pid) noexcept;
void unregister_child(pid_t pid) noexcept;

/// Ends chat-bench (exit code 4, children killed) if it still runs `budget` from now.
void arm_watchdog(std::chrono::seconds budget);

}  // namespace chat_bench
