#include "libchat/room.hpp"

#include "libchat/control.hpp"
#include "libchat/datagram.hpp"
#include "libchat/utf8.hpp"

#include <array>

namespace libchat {
namespace {

// One encode buffer per thread: a room call never nests inside another on the same thread, and
// this keeps 4 KiB out of every room object.
thread_local std::array<std::uint8_t, max_server_datagram> scratch;

constexpr std::string_view pong_json = R"({"event":"pong"})";
constexpr std::string_view shutdown_json = R"({"event":"server_shutdown"})";
constexpr std::string_view timeout_json = R"({"event":"timeout"})";
constexpr std::string_view too_long_json = R"({"event":"error","error":"too_long"})";

}  // namespace

std::string_view room::reason_name(removal why) noexcept {
  switch (why) {
    case removal::left: return "leave";
    case removal::timed_out: return "timeout";
    case removal::unreachable: return "unreachable";
    case removal::token_expired: break;
  }
  return "token_expired";
}

std::string_view room::host_reason_name(removal why) noexcept {
  switch (why) {
    case removal::left: return "host_left";
    case removal::timed_out: return "host_timeout";
    case removal::unreachable: return "host_unreachable";
    case removal::token_expired: break;
  }
  return "host_never_joined";
}

room_event::kind room::event_kind(removal why) noexcept {
  switch (why) {
    case removal::left: return room_event::kind::left;
    case removal::timed_out: return room_event::kind::timed_out;
    case removal::unreachable: return room_event::kind::unreachable;
    case removal::token_expired: break;
  }
  return room_event::kind::token_expired;
}

room::room(std::string name, std::optional<password_hash> password, const room_limits& limits)
    : name_(std::move(name)), password_(std::move(password)), limits_(limits) {}

std::size_t room::joined_count() const noexcept {
  std::size_t n = 0;
  for (const auto& m : members_) n += m.joined ? 1 : 0;
  return n;
}

boost::system::result<issued_token> room::admit(std::string_view username, const ip_address& ip, time_point now,
                                                room_output& out) {
  if (closed_) return make_error_code(errc::room_closed);
  for (const auto& m : members_)
    if (m.username == username) return make_error_code(errc::name_taken);
  if (members_.size() >= limits_.max_members) return make_error_code(errc::room_full);

  member m;
  m.username = std::string(username);
  m.ip = ip;
  m.last_seen = now;
  do {
    m.token = generate_token();
  } while (by_token_.contains(m.token.index));  // 2^-64 per try; cheap to rule out
  const bool host = members_.empty();
  if (host) host_token_ = m.token.index;
  by_token_.emplace(m.token.index, static_cast<std::uint32_t>(members_.size()));
  members_.push_back(std::move(m));
  const member& added = members_.back();
  out.on_event({room_event::kind::admitted, name_, added.username});
  return issued_token{token_text(added.token), host};
}

datagram_outcome room::on_datagram(std::string_view token, byte_view message, const peer_address& from,
                                   time_point now, room_output& out) {
  if (closed_) return datagram_outcome::drop(errc::room_closed);
  // Authenticate before looking at the content: token, then the IP it was issued to, then the
  // port the member joined from. Nothing is ever sent in reply to a datagram that fails here.
  const auto parsed = parse_token(token);
  if (!parsed) return datagram_outcome::drop(errc::bad_token);
  const auto found = by_token_.find(parsed->index);
  if (found == by_token_.end()) return datagram_outcome::drop(errc::bad_token);
  const std::size_t index = found->second;
  member& m = members_[index];
  if (!same_secret(m.token, *parsed)) return datagram_outcome::drop(errc::bad_token);
  if (m.ip != from.ip) return datagram_outcome::drop(errc::ip_mismatch);
  if (m.joined && m.endpoint.port != from.port) return datagram_outcome::drop(errc::port_mismatch);
  // One address and port, one member: otherwise the second would get the first one's messages.
  if (!m.joined && endpoint_taken(from)) return datagram_outcome::drop(errc::endpoint_in_use);

  switch (classify_message(message)) {
    case message_kind::keepalive:
      accept_from(index, from, now, out);
      send_notice(from, pong_json, out);
      return {datagram_outcome::kind::keepalive};
    case message_kind::control: {
      const auto control = parse_control(message);
      if (!control) return datagram_outcome::drop(errc::bad_control);
      // The only control message is leave. A token that leaves before its first datagram never
      // joined, so nobody is told.
      remove(index, removal::left, out);
      return {datagram_outcome::kind::control};
    }
    case message_kind::chat:
      break;
  }
  if (!is_valid_utf8(message)) return datagram_outcome::drop(errc::invalid_utf8);
  accept_from(index, from, now, out);
  if (message.size() > max_text_bytes(m.username.size())) {
    // Refused, never cut: the sender is told why.
    send_notice(from, too_long_json, out);
    return datagram_outcome::drop(errc::too_long);
  }
  relay(index, message, out);
  return {datagram_outcome::kind::relayed};
}

bool room::endpoint_taken(const peer_address& endpoint) const noexcept {
  for (const auto& other : members_)
    if (other.joined && other.endpoint == endpoint) return true;
  return false;
}

void room::accept_from(std::size_t index, const peer_address& from, time_point now, room_output& out) {
  member& m = members_[index];
  m.last_seen = now;
  m.unreachable = 0;
  if (m.joined) return;
  m.joined = true;
  m.endpoint = from;
  out.on_event({room_event::kind::joined, name_, m.username, from, {}, true});
  notify_joined_except(index, encode_notice({.event = notice_event::joined, .user = m.username}), out);
}

void room::relay(std::size_t sender, byte_view text, room_output& out) {
  const auto size = encode_server_datagram(members_[sender].username, text, scratch);
  const byte_view datagram(scratch.data(), *size);  // fits: checked against max_text_bytes
  for (std::size_t i = 0; i < members_.size(); ++i) {
    if (i != sender && members_[i].joined) out.send(members_[i].endpoint, datagram);
  }
}

void room::send_notice(const peer_address& to, std::string_view json, room_output& out) {
  const auto size = encode_server_datagram({}, as_bytes(json), scratch);
  if (size) out.send(to, byte_view(scratch.data(), *size));
}

void room::notify_joined_except(std::size_t skip, std::string_view json, room_output& out) {
  const auto size = encode_server_datagram({}, as_bytes(json), scratch);
  if (!size) return;
  const byte_view datagram(scratch.data(), *size);
  for (std::size_t i = 0; i < members_.size(); ++i) {
    if (i != skip && members_[i].joined) out.send(members_[i].endpoint, datagram);
  }
}

void room::remove(std::size_t index, removal why, room_output& out) {
  member& m = members_[index];
  const bool removed_for_silence = why == removal::timed_out || why == removal::unreachable;
  if (m.joined && removed_for_silence) send_notice(m.endpoint, timeout_json, out);
  out.on_event({event_kind(why), name_, m.username, m.endpoint, reason_name(why), m.joined});

  const bool host = m.token.index == host_token_;
  const bool was_joined = m.joined;
  const std::string username = std::move(m.username);
  erase_at(index);
  if (host) {
    // The host is not told the room closed: it left, or it was told it timed out.
    return close(host_reason_name(why), out);
  }
  if (was_joined) {
    notify_joined_except(members_.size(),
                         encode_notice({.event = notice_event::left, .user = username, .reason = std::string(reason_name(why))}),
                         out);
  }
}

void room::erase_at(std::size_t index) {
  by_token_.erase(members_[index].token.index);
  if (index + 1 != members_.size()) {
    members_[index] = std::move(members_.back());
    by_token_[members_[index].token.index] = static_cast<std::uint32_t>(index);
  }
  members_.pop_back();
}

void room::close(std::string_view reason, room_output& out) {
  notify_joined_except(members_.size(), encode_notice({.event = notice_event::room_closed, .reason = std::string(reason)}),
                       out);
  evict_all(out);
  out.on_event({room_event::kind::closed, name_, {}, {}, reason});
}

void room::evict_all(room_output& out) {
  for (const auto& m : members_) out.on_event({room_event::kind::evicted, name_, m.username, m.endpoint, {}, m.joined});
  members_.clear();
  by_token_.clear();
  closed_ = true;
}

void room::on_unreachable(const peer_address& to, time_point now, room_output& out) {
  (void)now;
  if (closed_) return;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    member& m = members_[i];
    if (!m.joined || m.endpoint != to) continue;
    if (++m.unreachable >= limits_.unreachable_limit) remove(i, removal::unreachable, out);
    return;
  }
}

void room::expire(time_point now, room_output& out) {
  for (std::size_t i = 0; i < members_.size() && !closed_;) {
    const member& m = members_[i];
    const auto limit = m.joined ? limits_.inactivity_timeout : limits_.token_ttl;
    if (now - m.last_seen >= limit) {
      remove(i, m.joined ? removal::timed_out : removal::token_expired, out);
      continue;  // the last member moved into slot i
    }
    ++i;
  }
}

std::optional<time_point> room::next_deadline() const noexcept {
  std::optional<time_point> next;
  for (const auto& m : members_) {
    const time_point due = m.last_seen + (m.joined ? limits_.inactivity_timeout : limits_.token_ttl);
    if (!next || due < *next) next = due;
  }
  return next;
}

void room::shutdown(room_output& out) {
  if (closed_) return;
  notify_joined_except(members_.size(), shutdown_json, out);
  evict_all(out);
  out.on_event({room_event::kind::shut_down, name_, {}, {}, {}});
}

}  // namespace libchat
