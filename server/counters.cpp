#include "counters.hpp"

#include <sstream>

namespace chat_server {

void counters::outcome(const libchat::datagram_outcome& o) noexcept {
  using kind = libchat::datagram_outcome::kind;
  switch (o.what) {
    case kind::relayed: add(counter::relayed); break;
    case kind::keepalive: add(counter::keepalive); break;
    case kind::control: add(counter::control); break;
    case kind::dropped: drop(o.reason); break;
  }
}

void counters::lobby_outcome(const libchat::datagram_outcome& o) noexcept {
  using kind = libchat::datagram_outcome::kind;
  switch (o.what) {
    case kind::relayed: add(counter::lobby_relayed); break;
    case kind::keepalive: add(counter::lobby_keepalive); break;
    case kind::control: break;  // the lobby has no control messages
    case kind::dropped: add(counter::lobby_dropped); break;
  }
}

std::string counters::stats_line(const gauges& g) const {
  std::ostringstream s;
  s << "received=" << get(counter::received) << " relayed=" << get(counter::relayed)
    << " keepalive=" << get(counter::keepalive) << " control=" << get(counter::control)
    << " dropped=" << get(counter::dropped);
  std::string reasons;
  for (std::size_t i = 1; i < drops_.size(); ++i) {
    const auto n = drops_[i].value.load(std::memory_order_relaxed);
    if (n == 0) continue;
    reasons += (reasons.empty() ? "" : " ") + std::string(libchat::errc_name(static_cast<libchat::errc>(i))) + "=" +
               std::to_string(n);
  }
  if (!reasons.empty()) s << " (" << reasons << ")";
  s << " sent=" << get(counter::sent) << " send_would_block=" << get(counter::send_would_block)
    << " send_error=" << get(counter::send_error) << " icmp_errors=" << get(counter::icmp_errors)
    << " kernel_drops=" << get(counter::kernel_drops) << " rooms=" << g.rooms << " members=" << g.members
    << " handshakes=" << g.handshakes << " hash_queue=" << g.hash_queue << " hash_evicted=" << g.hash_evicted
    << " hash_cancelled=" << g.hash_cancelled << " handler_heap=" << g.handler_heap_fallbacks;
  if (get(counter::lobby_received) != 0 || g.lobby_members != 0) {
    s << " lobby_received=" << get(counter::lobby_received) << " lobby_relayed=" << get(counter::lobby_relayed)
      << " lobby_keepalive=" << get(counter::lobby_keepalive) << " lobby_dropped=" << get(counter::lobby_dropped)
      << " lobby_members=" << g.lobby_members;
  }
  return s.str();
}

}  // namespace chat_server
