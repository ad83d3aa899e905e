// The server's metrics in the Prometheus text exposition format (version 0.0.4): a pure function
// from a snapshot of values to the text a scrape returns. No sockets and no atomics here, so that
// the format is unit-tested byte for byte; server.cpp fills the snapshot, metrics_listener.cpp
// serves the text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chat_server {

/// The Content-Type of the text render_metrics returns.
inline constexpr std::string_view metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// One sample of a counter family with one label: the label's value, and the count.
struct labelled_count {
  std::string_view label;
  std::uint64_t value = 0;
};

/// A histogram as its buckets hold it: `counts[i]` is the number of observations in bucket i alone
/// (not cumulative), for the upper bounds `upper_bounds` (ascending, in seconds); `counts` has one
/// more element than `upper_bounds`, the observations above the last bound (the +Inf bucket).
struct histogram_snapshot {
  std::vector<double> upper_bounds;
  std::vector<std::uint64_t> counts;
  double sum_seconds = 0;
};

/// Every value a scrape shows, read at one moment. Counters only grow while the server runs.
struct metrics_snapshot {
  std::string_view version;

  // Chat datagrams: received = relayed + keepalive + control + the sum of dropped.
  std::uint64_t received = 0;
  std::uint64_t relayed = 0;
  std::uint64_t keepalive = 0;
  std::uint64_t control = 0;
  std::vector<labelled_count> dropped;  ///< by reason, every reason even at 0
  std::uint64_t sent = 0;
  std::uint64_t send_would_block = 0;
  std::uint64_t send_errors = 0;
  std::uint64_t icmp_errors = 0;
  std::uint64_t kernel_drops = 0;
  std::uint64_t handler_heap_fallbacks = 0;
  std::uint64_t hash_evicted = 0;    ///< queued hashes dropped for a client with more budget left
  std::uint64_t hash_cancelled = 0;  ///< queued hashes dropped because their connection ended

  // The lobby (all 0 when it is off).
  std::uint64_t lobby_received = 0;
  std::uint64_t lobby_relayed = 0;
  std::uint64_t lobby_keepalive = 0;
  std::uint64_t lobby_dropped = 0;

  // Handshakes.
  std::vector<labelled_count> handshakes;  ///< by outcome, every outcome even at 0
  std::vector<labelled_count> refusals;    ///< by refusal, every refusal even at 0
  histogram_snapshot handshake_duration;

  // Gauges, and the limits they run into.
  std::size_t rooms = 0;
  std::size_t members = 0;
  std::size_t handshakes_in_progress = 0;
  std::size_t handshakes_refusing = 0;
  std::size_t hash_queue = 0;
  std::size_t lobby_members = 0;
  std::size_t rooms_limit = 0;
  std::size_t handshakes_limit = 0;
  std::size_t hash_queue_limit = 0;
};

/// The exposition text: each family's # HELP and # TYPE lines, then its samples, one per line,
/// ending with a newline. Label values are escaped as the format requires (\\, \", \n).
std::string render_metrics(const metrics_snapshot& s);

}  // namespace chat_server
