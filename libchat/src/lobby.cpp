#include "libchat/lobby.hpp"

#include "libchat/datagram.hpp"
#include "libchat/limits.hpp"
#include "libchat/utf8.hpp"

namespace libchat {

datagram_outcome lobby::on_datagram(byte_view d, const peer_address& from, time_point now, room_output& out) {
  // The lobby datagram has the server→client layout, so a valid one is relayed as it came.
  if (d.size() > max_client_datagram) return datagram_outcome::drop(errc::oversize);
  if (d.empty() || d[0] == 0 || 1 + std::size_t{d[0]} > d.size()) return datagram_outcome::drop(errc::malformed);
  const std::string_view username = as_text(d.subspan(1, d[0]));
  const byte_view message = d.subspan(1 + std::size_t{d[0]});
  if (auto ec = check_name(username)) return datagram_outcome::drop(static_cast<errc>(ec.value()));
  const message_kind kind = classify_message(message);
  if (kind == message_kind::control) return datagram_outcome::drop(errc::bad_control);
  if (!is_valid_utf8(message)) return datagram_outcome::drop(errc::invalid_utf8);
  if (d.size() > max_server_datagram) return datagram_outcome::drop(errc::too_long);

  std::size_t sender;
  if (auto it = by_endpoint_.find(from); it != by_endpoint_.end()) {
    sender = it->second;
  } else {
    if (members_.size() >= limits_.max_members) return datagram_outcome::drop(errc::lobby_full);
    sender = members_.size();
    by_endpoint_.emplace(from, static_cast<std::uint32_t>(sender));
    members_.push_back({from, now});
  }
  members_[sender].last_seen = now;
  if (kind == message_kind::keepalive) return {datagram_outcome::kind::keepalive};
  for (std::size_t i = 0; i < members_.size(); ++i)
    if (i != sender) out.send(members_[i].endpoint, d);
  return {datagram_outcome::kind::relayed};
}

void lobby::expire(time_point now) {
  for (std::size_t i = 0; i < members_.size();) {
    if (now - members_[i].last_seen < limits_.inactivity_timeout) {
      ++i;
      continue;
    }
    by_endpoint_.erase(members_[i].endpoint);
    if (i + 1 != members_.size()) {
      members_[i] = members_.back();
      by_endpoint_[members_[i].endpoint] = static_cast<std::uint32_t>(i);
    }
    members_.pop_back();
  }
}

std::optional<time_point> lobby::next_deadline() const noexcept {
  std::optional<time_point> next;
  for (const auto& m : members_) {
    const time_point due = m.last_seen + limits_.inactivity_timeout;
    if (!next || due < *next) next = due;
  }
  return next;
}

void lobby::shutdown(room_output& out) {
  static constexpr std::uint8_t datagram[] = "\0{\"event\":\"server_shutdown\"}";
  for (const auto& m : members_) out.send(m.endpoint, byte_view(datagram, sizeof datagram - 1));
  members_.clear();
  by_endpoint_.clear();
}

}  // namespace libchat
