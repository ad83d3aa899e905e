#include "liveness.hpp"

namespace chat_server::cluster {

liveness::liveness(std::string self, std::uint64_t incarnation, std::chrono::milliseconds timeout)
    : self_(std::move(self)), incarnation_(incarnation), timeout_(timeout) {}

void liveness::listening_since(clock::time_point t) {
  std::lock_guard lock(mutex_);
  listening_since_ = t;
}

void liveness::heard(std::string_view node, std::uint64_t incarnation, clock::time_point t) {
  std::lock_guard lock(mutex_);
  auto& h = last_[std::string(node)];
  if (t >= h.at) h = {incarnation, t};
}

bool liveness::alive(std::string_view node, std::uint64_t incarnation, clock::time_point now) const {
  if (node == self_) return incarnation == incarnation_;  // an entry of our own earlier process is stale
  std::lock_guard lock(mutex_);
  const auto it = last_.find(std::string(node));
  if (it != last_.end() && it->second.incarnation != incarnation && now - it->second.at < timeout_)
    return false;  // the node restarted: its earlier process's rooms are gone
  if (it != last_.end() && now - it->second.at < timeout_) return true;
  // Unheard within the timeout: dead, once we have listened long enough to know.
  return listening_since_ == clock::time_point::max() || now - listening_since_ < timeout_;
}

std::size_t liveness::live_nodes(clock::time_point now) const {
  std::lock_guard lock(mutex_);
  std::size_t n = 1;
  for (const auto& [node, h] : last_)
    if (node != self_ && now - h.at < timeout_) ++n;
  return n;
}

}  // namespace chat_server::cluster
