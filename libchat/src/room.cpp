#include "libchat/room.hpp"

#include "libchat/control.hpp"
#include "libchat/datagram.hpp"
#include "libchat/members.hpp"
#include "libchat/utf8.hpp"

#include <array>

namespace libchat {
namespace {

// One encode buffer per thread: a room call never nests inside another on the same thread, and
// this keeps 4 KiB out of every room object.
thread_local std::array<std::uint8_t, max_server_datagram> scratch;
// A sealed copy for one encrypted recipient, and an opened message from an encrypted sender.
thread_local std::array<std::uint8_t, sealed_server_size(max_server_datagram)> sealed_scratch;
thread_local std::array<std::uint8_t, max_client_datagram> opened_scratch;
// One part of a members notice, before it is framed into `scratch`.
thread_local std::array<char, max_notice_json> members_scratch;

// A member gets the members notice at most this often (on joining, then on request).
constexpr auto members_interval = std::chrono::seconds(1);

constexpr std::string_view pong_json = R"({"event":"pong"})";
constexpr std::string_view shutdown_json = R"({"event":"server_shutdown"})";
constexpr std::string_view timeout_json = R"({"event":"timeout"})";
constexpr std::string_view too_long_json = R"({"event":"error","error":"too_long"})";
constexpr std::string_view rate_limited_json = R"({"event":"error","error":"rate_limited"})";

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

room::room(std::string name, std::optional<password_hash> password, const room_limits& limits, random_source& random)
    : name_(std::move(name)), password_(std::move(password)), limits_(limits), random_(&random) {}

std::size_t room::joined_count() const noexcept {
  std::size_t n = 0;
  for (const auto& m : members_) n += m.joined ? 1 : 0;
  return n;
}

std::optional<errc> room::may_admit(time_point now) {
  if (closed_) return errc::room_closed;
  if (members_.size() >= limits_.max_members) return errc::room_full;
  if (!members_.empty() && !joins_.can_take(now)) return errc::rate_limited;
  return std::nullopt;
}

boost::system::result<issued_token> room::admit(std::string_view username, const ip_address& ip, time_point now,
                                                room_output& out, const channel_maker& make_channel) {
  if (closed_) return make_error_code(errc::room_closed);
  const bool encrypted = static_cast<bool>(make_channel);
  if (!members_.empty() && encrypted != encrypted_)
    return make_error_code(encrypted_ ? errc::encryption_required : errc::encryption_mismatch);
  for (const auto& m : members_)
    if (m.username == username) return make_error_code(errc::name_taken);
  if (members_.size() >= limits_.max_members) return make_error_code(errc::room_full);
  if (members_.empty()) joins_ = token_bucket(limits_.joins, now);
  if (!joins_.take(now)) return make_error_code(errc::rate_limited);

  member m;
  m.username = std::string(username);
  m.ip = ip;
  m.last_seen = now;
  m.chat = token_bucket(limits_.chat, now);
  do {
    m.token = generate_token(*random_);
  } while (by_token_.contains(m.token.index));  // 2^-64 per try; cheap to rule out
  if (encrypted) {
    // A maker that gives no channel (tests of admission alone) leaves the member without one:
    // its sealed datagrams are then refused as bad_token.
    if (auto channel = make_channel(m.token.index)) m.channel.emplace(std::move(*channel));
  }
  const bool host = members_.empty();
  if (host) {
    host_token_ = m.token.index;
    encrypted_ = encrypted;
  }
  by_token_.push_back(m.token.index);
  members_.push_back(std::move(m));
  const member& added = members_.back();
  out.on_event({room_event::kind::admitted, name_, added.username, {}, {}, false, added.ip});
  return issued_token{token_text(added.token), added.token.index, host};
}

datagram_outcome room::check_sender(const member& m, const peer_address& from, bool may_roam) const noexcept {
  if (m.ip != from.ip) return datagram_outcome::drop(errc::ip_mismatch);
  const bool other_port = m.joined && m.endpoint.port != from.port;
  if (other_port && !may_roam) return datagram_outcome::drop(errc::port_mismatch);
  // One address and port, one member: otherwise the second would get the first one's messages.
  if ((!m.joined || other_port) && endpoint_taken(from)) return datagram_outcome::drop(errc::endpoint_in_use);
  return {datagram_outcome::kind::relayed};  // "passes"
}

datagram_outcome room::on_datagram(const client_datagram& d, const peer_address& from, time_point now,
                                   room_output& out) {
  static_assert(sealed_token_size == session_id_bytes);
  if (!d.sealed) return on_datagram(d.token, d.message, from, now, out);
  if (closed_) return datagram_outcome::drop(errc::room_closed);
  // Sealed: the session id finds the member, its address must match, and only then is the tag
  // checked (a datagram from elsewhere costs no AES work).
  std::uint64_t id = 0;
  (void)load_big_endian(as_bytes(d.token), id);
  const auto found = by_token_.find(id);
  if (!found || !members_[*found].channel) return datagram_outcome::drop(errc::bad_token);
  const std::size_t index = *found;
  member& m = members_[index];
  // The IP is the token's, always. A joined member's datagram from another port of it is opened
  // too: a NAT that rebinds the client's port must not cut it off (roaming, below).
  if (auto verdict = check_sender(m, from, true); verdict.what == datagram_outcome::kind::dropped) return verdict;
  const bool other_port = m.joined && m.endpoint.port != from.port;
  auto opened = m.channel->open_client_message(d.header, d.message, opened_scratch);
  // A datagram that does not verify is dropped and counted, and changes nothing (WireGuard's
  // rule): its session id and source address are in clear on the wire, so anyone who can inject
  // could otherwise remove any member, or close the room by aiming at the host.
  if (!opened) return datagram_outcome::drop(static_cast<errc>(opened.error().value()));
  // Roaming (WireGuard §2.1): only a datagram that verifies and is the newest yet moves the
  // member to the port it came from. An older one (reordered across the rebinding) is still the
  // member's and is delivered, from where the member is. Someone on the same IP who forwards a
  // captured datagram from another port first moves the member only until its next datagram.
  if (other_port && m.channel->last_opened_newest()) roam(index, from, out);
  return handle_message(index, byte_view(opened_scratch.data(), *opened), m.joined ? m.endpoint : from, now, out);
}

void room::roam(std::size_t index, const peer_address& to, room_output& out) {
  member& m = members_[index];
  const peer_address previous = m.endpoint;
  m.endpoint = to;
  m.unreachable = 0;  // reports about the old port say nothing about the new one
  out.on_event({.what = room_event::kind::roamed,
                .room = name_,
                .username = m.username,
                .endpoint = to,
                .joined = true,
                .ip = m.ip,
                .previous = previous});
}

datagram_outcome room::on_datagram(std::string_view token, byte_view message, const peer_address& from,
                                   time_point now, room_output& out) {
  if (closed_) return datagram_outcome::drop(errc::room_closed);
  // Authenticate before looking at the content: token, then the IP it was issued to, then the
  // port the member joined from. Nothing is ever sent in reply to a datagram that fails here.
  const auto parsed = parse_token(token);
  if (!parsed) return datagram_outcome::drop(errc::bad_token);
  const auto found = by_token_.find(parsed->index);
  if (!found) return datagram_outcome::drop(errc::bad_token);
  const std::size_t index = *found;
  member& m = members_[index];
  // An encrypted member's token never travels in clear, so a plaintext datagram bearing it is forged.
  if (m.channel || !same_secret(m.token, *parsed)) return datagram_outcome::drop(errc::bad_token);
  if (auto verdict = check_sender(m, from, false); verdict.what == datagram_outcome::kind::dropped) return verdict;
  return handle_message(index, message, from, now, out);
}

datagram_outcome room::handle_message(std::size_t index, byte_view message, const peer_address& from, time_point now,
                                      room_output& out) {
  member& m = members_[index];
  switch (classify_message(message)) {
    case message_kind::keepalive: {
      const bool joined_now = accept_from(index, from, now, out);
      send_notice(m, pong_json, out);
      // After the pong, so that a client counts itself a member before it reads the list.
      if (joined_now) send_members(m, now, out);
      return {datagram_outcome::kind::keepalive};
    }
    case message_kind::control: {
      // A leave is not charged to the chat budget, which bounds what a member makes the room
      // send to the others: it sends each of them one notice and happens once per member; an
      // invalid control message sends nothing and changes nothing. A leave refused for the rate
      // would leave the room open until the host's inactivity timeout.
      const auto control = parse_control(message);
      if (!control) return datagram_outcome::drop(errc::bad_control);
      if (*control == control_type::members) return answer_members_request(index, from, now, out);
      // A token that leaves before its first datagram never joined, so nobody is told.
      remove(index, removal::left, out);
      return {datagram_outcome::kind::control};
    }
    case message_kind::chat:
      break;
  }
  if (!is_valid_utf8(message)) return datagram_outcome::drop(errc::invalid_utf8);
  if (accept_from(index, from, now, out)) send_members(m, now, out);
  if (!m.chat.take(now)) return drop_rate_limited(m, now, out);
  if (message.size() > max_text_bytes(m.username.size())) {
    // Refused, never cut: the sender is told why.
    send_notice(m, too_long_json, out);
    return datagram_outcome::drop(errc::too_long);
  }
  relay(index, message, out);
  return {datagram_outcome::kind::relayed};
}

datagram_outcome room::drop_rate_limited(member& m, time_point now, room_output& out) {
  // Tell the sender, but at most once a second: the notice must not become a flood of its own.
  if (m.joined && now - m.told_rate_limited >= std::chrono::seconds(1)) {
    m.told_rate_limited = now;
    send_notice(m, rate_limited_json, out);
  }
  return datagram_outcome::drop(errc::rate_limited);
}

void room::send_to(member& m, byte_view datagram, room_output& out) {
  if (!m.channel) return out.send(m.endpoint, datagram);
  // Each encrypted recipient gets its own sealed copy under its own key.
  auto sealed = m.channel->seal_server_datagram(datagram, sealed_scratch);
  if (sealed) out.send(m.endpoint, byte_view(sealed_scratch.data(), *sealed));
}

bool room::endpoint_taken(const peer_address& endpoint) const noexcept {
  for (const auto& other : members_)
    if (other.joined && other.endpoint == endpoint) return true;
  return false;
}

bool room::accept_from(std::size_t index, const peer_address& from, time_point now, room_output& out) {
  member& m = members_[index];
  m.last_seen = now;
  m.unreachable = 0;
  if (m.joined) return false;
  m.joined = true;
  m.endpoint = from;
  out.on_event({room_event::kind::joined, name_, m.username, from, {}, true, m.ip});
  notify_joined_except(index, encode_notice({.event = notice_event::joined, .user = m.username}), out);
  return true;
}

datagram_outcome room::answer_members_request(std::size_t index, const peer_address& from, time_point now,
                                              room_output& out) {
  member& m = members_[index];
  // As a first datagram it joins the member, and joining sends the list anyway.
  if (accept_from(index, from, now, out)) {
    send_members(m, now, out);
    return {datagram_outcome::kind::control};
  }
  // One request costs up to parts() datagrams: at most one answer a second, and each request
  // takes from the member's chat budget. Refused requests get no answer.
  if (now - m.told_members < members_interval || !m.chat.take(now)) return datagram_outcome::drop(errc::rate_limited);
  send_members(m, now, out);
  return {datagram_outcome::kind::control};
}

void room::send_members(member& to, time_point now, room_output& out) {
  // O(members) once per join (joins are limited by limits.joins) or per allowed request; never
  // on the relay path.
  to.told_members = now;
  std::vector<std::string_view> users;
  users.reserve(members_.size());
  std::string_view host;
  for (const auto& m : members_) {
    if (!m.joined) continue;
    users.push_back(m.username);
    if (m.token.index == host_token_) host = m.username;
  }
  const members_notice notice(users, host);
  for (std::size_t part = 0; part < notice.parts(); ++part) {
    const std::size_t size = notice.encode(part, members_scratch);
    send_notice(to, std::string_view(members_scratch.data(), size), out);
  }
}

void room::relay(std::size_t sender, byte_view text, room_output& out) {
  const auto size = encode_server_datagram(members_[sender].username, text, scratch);
  const byte_view datagram(scratch.data(), *size);  // fits: checked against max_text_bytes
  for (std::size_t i = 0; i < members_.size(); ++i) {
    if (i != sender && members_[i].joined) send_to(members_[i], datagram, out);
  }
}

void room::send_notice(member& to, std::string_view json, room_output& out) {
  const auto size = encode_server_datagram({}, as_bytes(json), scratch);
  if (size) send_to(to, byte_view(scratch.data(), *size), out);
}

void room::notify_joined_except(std::size_t skip, std::string_view json, room_output& out) {
  const auto size = encode_server_datagram({}, as_bytes(json), scratch);
  if (!size) return;
  const byte_view datagram(scratch.data(), *size);
  for (std::size_t i = 0; i < members_.size(); ++i) {
    if (i != skip && members_[i].joined) send_to(members_[i], datagram, out);
  }
}

void room::remove(std::size_t index, removal why, room_output& out) {
  member& m = members_[index];
  const bool told_to_rejoin = why != removal::left && why != removal::token_expired;
  if (m.joined && told_to_rejoin) send_notice(m, timeout_json, out);
  out.on_event({event_kind(why), name_, m.username, m.endpoint, reason_name(why), m.joined, m.ip});

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
  by_token_.erase_swap(static_cast<std::uint32_t>(index));
  if (index + 1 != members_.size()) members_[index] = std::move(members_.back());
  members_.pop_back();
}

void room::close(std::string_view reason, room_output& out) {
  notify_joined_except(members_.size(), encode_notice({.event = notice_event::room_closed, .reason = std::string(reason)}),
                       out);
  evict_all(out);
  out.on_event({room_event::kind::closed, name_, {}, {}, reason});
}

void room::evict_all(room_output& out) {
  for (const auto& m : members_)
    out.on_event({room_event::kind::evicted, name_, m.username, m.endpoint, {}, m.joined, m.ip});
  members_.clear();
  by_token_.clear();
  closed_ = true;
}

void room::on_unreachable(const peer_address& to, time_point now, room_output& out) {
  if (closed_) return;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    member& m = members_[i];
    if (!m.joined || m.endpoint != to) continue;
    if (m.unreachable++ == 0) m.unreachable_since = now;
    if (m.unreachable >= limits_.unreachable_limit && now - m.unreachable_since >= limits_.unreachable_grace)
      remove(i, removal::unreachable, out);
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
