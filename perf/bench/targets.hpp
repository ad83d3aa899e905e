// The systems chat-bench measures. A target owns the process (started by chat-bench, or attached
// to by address and PID), the members of the current shape, and the load workers that drive them.
//
//   chat-server   TCRP handshakes, then UDP chat            (udp_population + udp_workers)
//   chat-server-enc  the same with encrypted sessions: sealed handshakes, every datagram sealed
//                 and opened (a chat-server started without --allow-plaintext)
//   limit-relay   UDP chat with dummy tokens, no handshake  (udp_population + udp_workers)
//   mqtt          Mosquitto on loopback, one topic a room   (mqtt_population + mqtt_workers)
#pragma once

#include "child_process.hpp"
#include "load_worker.hpp"
#include "mqtt_members.hpp"
#include "net.hpp"
#include "shape.hpp"
#include "udp_members.hpp"

#include "libchat/secure_handshake.hpp"

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chat_bench {

/// baseline and baseline_enc are another chat-server binary (--baseline-bin), for before/after
/// comparisons in one run, alternating with the current one.
enum class target_kind { chat_server, chat_server_enc, baseline, baseline_enc, limit_relay, mqtt };
std::string_view kind_name(target_kind k) noexcept;
inline bool is_chat_server(target_kind k) noexcept {
  return k == target_kind::chat_server || k == target_kind::chat_server_enc || k == target_kind::baseline ||
         k == target_kind::baseline_enc;
}
/// A chat-server whose members use encrypted sessions.
inline bool is_encrypted(target_kind k) noexcept {
  return k == target_kind::chat_server_enc || k == target_kind::baseline_enc;
}

struct target_settings {
  target_kind kind = target_kind::chat_server;
  /// Program and its arguments to start; ignored when attaching.
  std::string program;
  std::vector<std::string> extra_args;
  /// Attach instead of starting: the address to talk to (chat-server: TCP handshake port;
  /// limit-relay: UDP port; mqtt: broker port) and the PID to measure.
  std::optional<endpoint> connect;
  std::optional<pid_t> pid;
  /// chat-server --threads, when set.
  std::optional<unsigned> server_threads;
  std::optional<std::string> log_path;
  /// LD_PRELOAD this allocation counter into the started process.
  std::optional<std::string> alloc_counter_library;

  std::size_t workers = 2;
  std::int64_t keepalive_ns = 0;
  population_options population;
};

struct alloc_counts {
  std::uint64_t allocations = 0;
  std::uint64_t frees = 0;
  std::uint64_t bytes = 0;
};

class target {
 public:
  explicit target(target_settings settings);
  virtual ~target();
  target(const target&) = delete;
  target& operator=(const target&) = delete;

  const std::string& name() const noexcept { return name_; }
  target_kind kind() const noexcept { return settings_.kind; }

  /// Starts the process (room and member limits large enough for `largest`) or attaches.
  void start(const shape& largest);
  /// Creates and binds the members of `layout` and starts the workers.
  void populate(const shape& layout);
  /// Stops the workers; members leave and their sockets close.
  void depopulate();
  bool populated() const noexcept { return populated_; }
  std::optional<shape> current_shape() const noexcept { return populated_ ? std::optional(shape_) : std::nullopt; }
  /// Descriptors the members of `layout` take in chat-bench.
  std::uint64_t descriptors_for(const shape& layout) const noexcept;

  std::vector<load_worker*> workers() const;
  /// Replies that did not open during the current population's set-up (encrypted sessions).
  std::uint64_t setup_open_failures() const noexcept { return udp_ ? udp_->setup_open_failures() : 0; }
  pid_t pid() const noexcept { return pid_; }
  /// The UDP port whose socket drops are the target's (none for mqtt).
  std::optional<std::uint16_t> udp_port() const noexcept { return udp_port_; }
  /// The start-up line the process printed, or a description of what was attached to.
  const std::string& description() const noexcept { return description_; }
  /// The process's resident memory right after it started (or was attached to), before any
  /// member of chat-bench: the base that memory per member is counted from.
  std::uint64_t base_rss_kib() const noexcept { return base_rss_kib_; }
  bool alive();
  /// The last lines of the process's output, for error messages.
  std::string diagnostics() const;
  std::optional<alloc_counts> allocations() const;
  /// Stops the process if chat-bench started it.
  void stop();

 private:
  void start_chat_server(const shape& largest);
  void start_limit_relay();
  void start_mosquitto();
  void fetch_key(const std::optional<std::string>& printed_fingerprint);
  void spawn(std::vector<std::string> argv);
  void map_alloc_counter();
  void make_temp_dir();

  target_settings settings_;
  std::string name_;
  std::unique_ptr<child_process> process_;
  pid_t pid_ = -1;
  endpoint address_;  ///< chat-server: TCP; limit-relay: UDP; mqtt: broker
  std::optional<std::uint16_t> udp_port_;
  std::string description_;
  std::uint64_t base_rss_kib_ = 0;
  std::optional<libchat::public_key> server_key_;  ///< chat-server-enc: from operation 3
  std::string temp_dir_;
  std::string alloc_file_;
  const void* alloc_page_ = nullptr;

  bool populated_ = false;
  shape shape_;
  unsigned generation_ = 0;
  std::unique_ptr<udp_population> udp_;
  std::unique_ptr<mqtt_population> mqtt_;
  std::vector<std::unique_ptr<load_worker>> workers_;
};

}  // namespace chat_bench
