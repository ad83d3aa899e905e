#include "handshake_stats.hpp"

#include <algorithm>

namespace chat_server {

void handshake_stats::answered(const libchat::exchange_outcome& outcome, bool let_in,
                               std::chrono::steady_clock::duration took) noexcept {
  using kind = libchat::exchange_outcome::kind;
  switch (outcome.what) {
    case kind::created: add(created_); break;
    case kind::joined: add(joined_); break;
    case kind::key_sent: add(key_sent_); break;
    case kind::refused:
      add(refused_by_code_[static_cast<std::size_t>(libchat::refusal_error(outcome.why))]);
      add(refused_by_reason_[static_cast<std::size_t>(outcome.why)]);
      break;
    case kind::unfinished: add(abandoned_); return;  // closed without an answer: not a handshake to time
  }
  if (!let_in) return;
  const auto seconds = std::chrono::duration<double>(took).count();
  const auto bucket = std::lower_bound(handshake_duration_bounds.begin(), handshake_duration_bounds.end(), seconds) -
                      handshake_duration_bounds.begin();
  add(duration_buckets_[static_cast<std::size_t>(bucket)]);
  add(duration_sum_ns_, static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()));
}

void handshake_stats::sample(metrics_snapshot& into) const {
  into.handshakes = {{"created", get(created_)}, {"joined", get(joined_)}, {"key_sent", get(key_sent_)}};
  for (std::size_t i = 0; i < tcrp_error_count; ++i) {
    into.handshakes.push_back({libchat::wire_name(static_cast<libchat::tcrp_error>(i)), get(refused_by_code_[i])});
  }
  into.handshakes.push_back({"abandoned", get(abandoned_)});
  into.handshakes.push_back({"unanswered", get(unanswered_)});

  into.refusals.clear();
  for (std::size_t i = 0; i < refusal_count; ++i) {
    into.refusals.push_back({libchat::refusal_name(static_cast<libchat::refusal>(i)), get(refused_by_reason_[i])});
  }

  auto& h = into.handshake_duration;
  h.upper_bounds.assign(handshake_duration_bounds.begin(), handshake_duration_bounds.end());
  h.counts.clear();
  for (const auto& c : duration_buckets_) h.counts.push_back(get(c));
  h.sum_seconds = static_cast<double>(get(duration_sum_ns_)) / 1e9;
}

}  // namespace chat_server
