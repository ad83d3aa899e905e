// fuzz_room_ops: random programs of operations on libchat::room objects (three room names, each
// re-created after it closes, the closed ones kept to receive late datagrams) with a fake clock,
// checked after every step against a model of docs/protocol.md §6–7.
//
// Input: a program, read from the front one operation at a time (fuzz::byte_reader; past the end
// every read is zero). Each operation is a byte (mod 10) followed by its arguments:
//   0 create   a room in a slot whose room is closed or absent, with fuzzed limits, and admit its host
//   1 admit    a user from one of three IP addresses
//   2 datagram token: a member's, any ever issued (old rooms, other rooms), one with a character
//              changed, a member's public index alone as the 8-byte session id of a sealed
//              datagram (which a plaintext member must not accept), or garbage; from: the member's endpoint, another
//              port, another IP, any, or another member's endpoint; message: keepalive, leave, bad control, chat
//              (valid, invalid UTF-8, cut, exactly at and around the size limit); to the slot's current room or to one
//              of its closed predecessors. Built and decoded with the datagram codec, as the server does.
//   3 a member's own keepalive, chat or leave   4 the host leaves   5 ICMP unreachable
//   6 advance the clock (by ms, by 1 ns, to the next deadline, or to 1 ns before it)
//   7 expire one room   8 shut one room down   9 expire every room
//
// The model predicts, for every operation, the outcome and the exact multiset of datagrams sent
// (decoded: notices by their fields, relays by sender and text) and events. On top of the exact
// match it checks the protocol's invariants directly: a datagram goes only to an address that
// joined that room; a relay never goes back to its sender; member_count <= max_members; a closed
// room has no member and sends nothing more; a token of a closed room is never accepted by the
// new room of the same name; next_deadline() is the earliest due time, expire() before it does
// nothing and expire() at it removes someone.
#include "common.hpp"

#include "libchat/control.hpp"
#include "libchat/datagram.hpp"
#include "libchat/room.hpp"
#include "libchat/token.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>
#include <optional>

namespace {

using namespace libchat;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

const std::array<std::string, 3> slot_names{"lobby", "den", "Z\xc3\xbcrich"};
const std::array<ip_address, 3> ips{ip_address::from_v4({10, 0, 0, 1}), ip_address::from_v4({10, 0, 0, 2}),
                                    ip_address::from_v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})};
constexpr std::array<std::uint16_t, 3> ports{5000, 5001, 40000};
const std::array<std::string, 7> usernames{"alice", "bob", "carol", "dave", "\xc3\xa9ve", std::string(255, 'w'), "x"};
const std::array<std::string, 4> texts{"hi bob", "h\xc3\xa9llo \xf0\x9f\x91\x8b", "\x1b[2J", "\xc2\x85"};
const std::array<std::string, 7> bad_sequences{"\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80",
                                               "\xff",     "\xe2\x82",     "\xf0\x9f\x91"};

enum class removal { left, timed_out, unreachable, token_expired };

const char* reason_name(removal r) {
  switch (r) {
    case removal::left: return "leave";
    case removal::timed_out: return "timeout";
    case removal::unreachable: return "unreachable";
    case removal::token_expired: return "token_expired";
  }
  return "?";
}
const char* host_reason_name(removal r) {
  switch (r) {
    case removal::left: return "host_left";
    case removal::timed_out: return "host_timeout";
    case removal::unreachable: return "host_unreachable";
    case removal::token_expired: return "host_never_joined";
  }
  return "?";
}
room_event::kind event_of(removal r) {
  switch (r) {
    case removal::left: return room_event::kind::left;
    case removal::timed_out: return room_event::kind::timed_out;
    case removal::unreachable: return room_event::kind::unreachable;
    case removal::token_expired: return room_event::kind::token_expired;
  }
  return room_event::kind::left;
}

// ---- Normalised log entries: what was sent (decoded) or reported, as comparable text ----------

std::string notice_key(const peer_address& to, std::string_view event, std::string_view user = {},
                       std::string_view reason = {}, std::string_view error = {}) {
  return "send " + to.to_string() + " notice " + std::string(event) + " user=" + fuzz::hex(user, 600) +
         " reason=" + std::string(reason) + " error=" + std::string(error);
}
std::string relay_key(const peer_address& to, std::string_view sender, byte_view text) {
  return "send " + to.to_string() + " chat " + fuzz::hex(sender, 600) + " " + std::string(as_text(text));
}
std::string event_key(std::string_view room, room_event::kind what, std::string_view user,
                      const std::optional<peer_address>& endpoint, std::string_view reason) {
  return "event " + std::string(libchat::room_event_kind_name(what)) + " room=" + fuzz::hex(room) +
         " user=" + fuzz::hex(user, 600) + " at=" + (endpoint ? endpoint->to_string() : "-") +
         " reason=" + std::string(reason);
}

// The members notice a joining member gets, whatever its split: its host and every name, sorted.
std::string members_key(const peer_address& to, std::string_view host, std::vector<std::string> users) {
  std::sort(users.begin(), users.end());
  std::string key = "send " + to.to_string() + " members host=" + fuzz::hex(host, 600) + " users=";
  for (const auto& u : users) key += fuzz::hex(u, 600) + ",";
  return key;
}

std::optional<notice> members_part(const fuzz::log_entry& e) {
  if (!e.is_send) return std::nullopt;
  const auto d = decode_server_datagram(e.datagram);
  if (!d || !d->is_notice()) return std::nullopt;
  auto n = parse_notice(as_text(d->text));
  if (!n || n->event != notice_event::members) return std::nullopt;
  return *n;
}

// Folds each run of members parts to one address into one entry keyed by members_key, checking
// that the parts are whole, in order, and agree with each other.
void fold_members(std::vector<fuzz::log_entry>& log, std::size_t from) {
  for (std::size_t k = from; k < log.size(); ++k) {
    auto first = members_part(log[k]);
    if (!first) continue;
    FUZZ_CHECK(first->part == 1, "a members notice that does not start with part 1");
    std::vector<std::string> users = first->users;
    std::size_t end = k + 1;
    for (std::uint32_t part = 2; part <= first->parts; ++part, ++end) {
      FUZZ_CHECK(end < log.size(), "a members notice with parts missing");
      auto next = members_part(log[end]);
      FUZZ_CHECK(next && next->part == part && next->parts == first->parts && next->host == first->host &&
                     log[end].to == log[k].to,
                 "members parts out of order or inconsistent");
      users.insert(users.end(), next->users.begin(), next->users.end());
    }
    log[k].key = members_key(log[k].to, first->host, std::move(users));
    log.erase(log.begin() + static_cast<std::ptrdiff_t>(k + 1), log.begin() + static_cast<std::ptrdiff_t>(end));
  }
}

std::string key_of(const fuzz::log_entry& e) {
  if (!e.key.empty()) return e.key;
  if (!e.is_send) {
    FUZZ_CHECK(e.joined || e.endpoint == peer_address{}, "an event about a member that never joined has an endpoint");
    return event_key(e.room, e.what, e.username, e.joined ? std::optional(e.endpoint) : std::nullopt, e.reason);
  }
  const auto d = decode_server_datagram(e.datagram);
  FUZZ_CHECK(d.has_value(), "the room sent a datagram the client cannot decode: " + fuzz::hex(byte_view(e.datagram)));
  if (!d->is_notice()) return relay_key(e.to, d->sender, d->text);
  const auto n = parse_notice(as_text(d->text));
  FUZZ_CHECK(n.has_value(), "the room sent a notice the client cannot parse: " + std::string(as_text(d->text)));
  return notice_key(e.to, n->event_name, n->user, n->reason, n->error);
}

// ---- The model ------------------------------------------------------------------------------------

struct member_model {
  std::string username, token;
  ip_address ip;
  bool joined = false;
  peer_address endpoint;
  time_point last_seen;
  unsigned unreachable = 0;
  time_point unreachable_since;
  token_bucket chat;             // the model's own copy of the member's chat bucket
  time_point told_rate_limited{};
  time_point told_members{};
  bool host = false;
};

struct room_model {
  std::string name;
  room_limits limits;
  std::unique_ptr<room> r;
  std::vector<member_model> members;
  token_bucket joins;
  bool closed = false;

  int find_token(std::string_view token) const {
    for (std::size_t i = 0; i < members.size(); ++i)
      if (members[i].token == token) return static_cast<int>(i);
    return -1;
  }
  std::vector<peer_address> joined_endpoints() const {
    std::vector<peer_address> out;
    for (const auto& m : members)
      if (m.joined) out.push_back(m.endpoint);
    return out;
  }
  bool due(const member_model& m, time_point now) const {
    return now - m.last_seen >= (m.joined ? limits.inactivity_timeout : limits.token_ttl);
  }
  std::optional<time_point> deadline() const {
    std::optional<time_point> next;
    for (const auto& m : members) {
      const time_point t = m.last_seen + (m.joined ? limits.inactivity_timeout : limits.token_ttl);
      if (!next || t < *next) next = t;
    }
    return next;
  }

  void close(std::string_view reason, std::vector<std::string>& expect) {
    for (const auto& m : members)
      if (m.joined) expect.push_back(notice_key(m.endpoint, "room_closed", {}, reason));
    evict_all(expect);
    expect.push_back(event_key(name, room_event::kind::closed, {}, std::nullopt, reason));
  }
  void evict_all(std::vector<std::string>& expect) {
    for (const auto& m : members)
      expect.push_back(event_key(name, room_event::kind::evicted, m.username,
                                 m.joined ? std::optional(m.endpoint) : std::nullopt, {}));
    members.clear();
    closed = true;
  }
  void remove(std::size_t i, removal why, std::vector<std::string>& expect) {
    const member_model m = members[i];
    if (m.joined && (why == removal::timed_out || why == removal::unreachable))
      expect.push_back(notice_key(m.endpoint, "timeout"));
    expect.push_back(event_key(name, event_of(why), m.username, m.joined ? std::optional(m.endpoint) : std::nullopt,
                               reason_name(why)));
    members.erase(members.begin() + static_cast<std::ptrdiff_t>(i));
    if (m.host) return close(host_reason_name(why), expect);
    if (m.joined) {
      for (const auto& o : members)
        if (o.joined) expect.push_back(notice_key(o.endpoint, "left", m.username, reason_name(why)));
    }
  }
  // A refused chat message: the sender hears of it at most once a second.
  datagram_outcome rate_limited(member_model& m, const peer_address& from, time_point now,
                                std::vector<std::string>& expect) {
    if (m.joined && now - m.told_rate_limited >= std::chrono::seconds(1)) {
      m.told_rate_limited = now;
      expect.push_back(notice_key(from, "error", {}, {}, "rate_limited"));
    }
    return {datagram_outcome::kind::dropped, errc::rate_limited};
  }
  void accept(std::size_t i, const peer_address& from, time_point now, std::vector<std::string>& expect) {
    member_model& m = members[i];
    m.last_seen = now;
    m.unreachable = 0;
    if (m.joined) return;
    m.joined = true;
    m.endpoint = from;
    expect.push_back(event_key(name, room_event::kind::joined, m.username, from, {}));
    for (std::size_t j = 0; j < members.size(); ++j)
      if (j != i && members[j].joined) expect.push_back(notice_key(members[j].endpoint, "joined", m.username));
    send_members(m, now, expect);
  }
  // Every joined member's name, and the host's if it joined.
  void send_members(member_model& to, time_point now, std::vector<std::string>& expect) {
    to.told_members = now;
    std::vector<std::string> users;
    std::string host;
    for (const auto& o : members) {
      if (!o.joined) continue;
      users.push_back(o.username);
      if (o.host) host = o.username;
    }
    expect.push_back(members_key(to.endpoint, host, std::move(users)));
  }
  // A members request: it joins a member that has not, else is answered at most once a second
  // from the chat budget.
  datagram_outcome members_request(std::size_t i, const peer_address& from, time_point now,
                                   std::vector<std::string>& expect) {
    member_model& m = members[i];
    const bool was_joined = m.joined;
    accept(i, from, now, expect);
    if (!was_joined) return {datagram_outcome::kind::control, {}};
    if (now - m.told_members < std::chrono::seconds(1) || !m.chat.take(now))
      return {datagram_outcome::kind::dropped, errc::rate_limited};
    send_members(m, now, expect);
    return {datagram_outcome::kind::control, {}};
  }
};

struct token_record {
  std::string token, username;
  ip_address ip;
};

struct slot {
  std::unique_ptr<room_model> current;
  std::vector<std::unique_ptr<room_model>> old;  // closed rooms of this name, newest last
};

struct world {
  time_point now = time_point{} + std::chrono::hours(1000);
  std::array<slot, 3> slots;
  std::vector<token_record> tokens;  // every token ever issued, in any room
  fuzz::recorder out;
};

// Compares the log with the expected entries (as multisets), checking on the way that every
// datagram goes to an allowed address and that no relay goes back to `from`.
void match(world& w, const room_model& m, std::vector<std::string> expect, const std::vector<peer_address>& allowed,
           const std::optional<peer_address>& from, std::size_t& pos, const char* what) {
  fold_members(w.out.log, pos);
  FUZZ_CHECK(pos + expect.size() <= w.out.log.size(),
             std::string(what) + ": expected " + std::to_string(expect.size()) + " entries, the room produced " +
                 std::to_string(w.out.log.size() - pos) + (expect.empty() ? "" : "; first expected: " + expect[0]));
  std::vector<std::string> got;
  for (std::size_t k = pos; k < pos + expect.size(); ++k) {
    const auto& e = w.out.log[k];
    if (e.is_send) {
      FUZZ_CHECK(std::find(allowed.begin(), allowed.end(), e.to) != allowed.end(),
                 std::string(what) + ": a datagram to " + e.to.to_string() + ", which has not joined room " + m.name);
      const auto d = decode_server_datagram(e.datagram);
      FUZZ_CHECK(!(d && !d->is_notice() && from && e.to == *from),
                 std::string(what) + ": a relay went back to its sender");
    } else {
      FUZZ_CHECK(e.room == m.name, "an event names room " + e.room + " instead of " + m.name);
    }
    got.push_back(key_of(e));
  }
  pos += expect.size();
  std::sort(expect.begin(), expect.end());
  std::sort(got.begin(), got.end());
  if (got != expect) {
    std::string detail = std::string(what) + ": output differs from the model\n  expected:";
    for (const auto& s : expect) detail += "\n    " + s;
    detail += "\n  got:";
    for (const auto& s : got) detail += "\n    " + s;
    FUZZ_CHECK(false, detail);
  }
}

void finish(world& w, std::size_t pos, const char* what) {
  fold_members(w.out.log, pos);
  if (pos != w.out.log.size()) {
    FUZZ_CHECK(false, std::string(what) +
                          ": the room produced more than the model expects, first extra: " + key_of(w.out.log[pos]));
  }
  w.out.log.clear();
}

std::vector<peer_address> union_of(std::vector<peer_address> a, const std::vector<peer_address>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

void check_room(const room_model& m) {
  const room& r = *m.r;
  FUZZ_CHECK(r.closed() == m.closed, "closed() is " + std::to_string(r.closed()) + " for room " + m.name);
  FUZZ_CHECK(r.member_count() == m.members.size(),
             "member_count " + std::to_string(r.member_count()) + ", model " + std::to_string(m.members.size()));
  FUZZ_CHECK(r.member_count() <= m.limits.max_members, "member_count over max_members");
  const auto joined = m.joined_endpoints();
  FUZZ_CHECK(r.joined_count() == joined.size(), "joined_count differs from the model");
  for (std::size_t i = 0; i < joined.size(); ++i)
    for (std::size_t j = i + 1; j < joined.size(); ++j)
      FUZZ_CHECK(!(joined[i] == joined[j]), "two members joined from " + joined[i].to_string());
  if (r.closed()) FUZZ_CHECK(r.member_count() == 0 && r.joined_count() == 0, "a closed room has members");
  const auto deadline = r.next_deadline();
  FUZZ_CHECK(deadline == m.deadline(), "next_deadline differs from the earliest due time");
}

// ---- Program pieces -------------------------------------------------------------------------------

// FUZZ_TRACE=1 in the environment prints each step (to read what a crashing input does).
const bool trace = std::getenv("FUZZ_TRACE") != nullptr;

const std::string& pick_username(fuzz::byte_reader& in, std::string& storage) {
  const std::size_t k = in.below(usernames.size() + 1);
  if (k < usernames.size()) return usernames[k];
  const auto raw = in.bytes(in.below(24));
  storage.assign(as_text(raw));
  if (fuzz::reference_check_name(storage)) storage = "fallback";
  return storage;
}

room_model* pick_room(world& w, fuzz::byte_reader& in, bool allow_old) {
  slot& s = w.slots[in.below(w.slots.size())];
  if (allow_old && !s.old.empty() && in.below(4) == 3) return s.old[in.below(s.old.size())].get();
  return s.current.get();
}

void do_admit(world& w, room_model& m, const std::string& username, const ip_address& ip, bool must_succeed) {
  std::vector<std::string> expect;
  std::optional<errc> expected_error;
  if (m.closed)
    expected_error = errc::room_closed;
  else if (std::any_of(m.members.begin(), m.members.end(), [&](const auto& x) { return x.username == username; }))
    expected_error = errc::name_taken;
  else if (m.members.size() >= m.limits.max_members)
    expected_error = errc::room_full;
  else {
    if (m.members.empty()) m.joins = token_bucket(m.limits.joins, w.now);
    if (!m.joins.take(w.now)) expected_error = errc::rate_limited;
  }

  const auto result = m.r->admit(username, ip, w.now, w.out);
  std::size_t pos = 0;
  if (expected_error) {
    FUZZ_CHECK(!result && fuzz::is_one_of(result.error(), {*expected_error}),
               "admit: expected " + std::string(errc_name(*expected_error)) + ", got " +
                   (result ? std::string("a token") : fuzz::ec_text(result.error())));
    finish(w, pos, "admit (refused)");
    return;
  }
  FUZZ_CHECK(!must_succeed || result.has_value(), "the host of a new room was refused");
  FUZZ_CHECK(result.has_value(), "admit refused: " + fuzz::ec_text(result.error()));
  const bool host = m.members.empty();
  FUZZ_CHECK(result->host == host, "admit: host flag " + std::to_string(result->host));
  const std::string& token = result->token;
  FUZZ_CHECK(parse_token(token).has_value() && token.size() == token_text_size, "admit: unparseable token " + token);
  for (const auto& t : w.tokens) FUZZ_CHECK(t.token != token, "admit: a token was issued twice");
  w.tokens.push_back({token, username, ip});
  member_model mm;
  mm.username = username;
  mm.token = token;
  mm.ip = ip;
  mm.last_seen = w.now;
  mm.chat = token_bucket(m.limits.chat, w.now);
  mm.host = host;
  m.members.push_back(mm);
  expect.push_back(event_key(m.name, room_event::kind::admitted, username, std::nullopt, {}));
  match(w, m, expect, {}, std::nullopt, pos, "admit");
  finish(w, pos, "admit");
}

// Sends one datagram, built and decoded as the server does, to room `m`, and checks everything.
void do_datagram(world& w, room_model& m, const std::string& token, const std::string& message_in,
                 const peer_address& from) {
  std::string message = message_in;
  const std::size_t cap = max_client_datagram - 2 - m.name.size() - token.size();
  if (message.size() > cap) message.resize(cap);
  std::array<std::uint8_t, max_client_datagram> buffer{};
  const auto size = encode_client_datagram(m.name, token, as_bytes(message), buffer);
  FUZZ_CHECK(size.has_value(), "encode_client_datagram refused a datagram that fits");
  const auto decoded = decode_client_datagram(byte_view(buffer.data(), *size));
  FUZZ_CHECK(decoded && decoded->room == m.name && decoded->token == token && as_text(decoded->message) == message,
             "the datagram codec does not round-trip");

  // The model's prediction.
  const auto joined_before = m.joined_endpoints();
  std::vector<std::string> expect;
  datagram_outcome expected{datagram_outcome::kind::dropped, errc::room_closed};
  const int i = m.find_token(token);
  const byte_view msg = as_bytes(message);
  if (m.closed) {
  } else if (i < 0) {
    expected.reason = errc::bad_token;
  } else if (m.members[static_cast<std::size_t>(i)].ip != from.ip) {
    expected.reason = errc::ip_mismatch;
  } else if (m.members[static_cast<std::size_t>(i)].joined &&
             m.members[static_cast<std::size_t>(i)].endpoint.port != from.port) {
    expected.reason = errc::port_mismatch;
  } else if (!m.members[static_cast<std::size_t>(i)].joined &&
             std::find(joined_before.begin(), joined_before.end(), from) != joined_before.end()) {
    expected.reason = errc::endpoint_in_use;
  } else {
    const auto index = static_cast<std::size_t>(i);
    const std::string sender = m.members[index].username;
    if (msg.empty()) {
      m.accept(index, from, w.now, expect);
      expect.push_back(notice_key(from, "pong"));
      expected = {datagram_outcome::kind::keepalive, {}};
    } else if (msg[0] == 0) {
      // A leave is outside the chat budget: it always goes through.
      const auto control = parse_control(msg);
      if (control && *control == control_type::members) {
        expected = m.members_request(index, from, w.now, expect);
      } else if (control) {
        m.remove(index, removal::left, expect);
        expected = {datagram_outcome::kind::control, {}};
      } else {
        expected.reason = errc::bad_control;
      }
    } else if (!fuzz::reference_valid_utf8(msg)) {
      expected.reason = errc::invalid_utf8;
    } else {
      m.accept(index, from, w.now, expect);
      if (!m.members[index].chat.take(w.now)) {
        expected = m.rate_limited(m.members[index], from, w.now, expect);
      } else if (msg.size() > max_server_datagram - 1 - sender.size()) {
        expect.push_back(notice_key(from, "error", {}, {}, "too_long"));
        expected.reason = errc::too_long;
      } else {
        for (const auto& o : m.members)
          if (o.joined && o.username != sender) expect.push_back(relay_key(o.endpoint, sender, msg));
        expected = {datagram_outcome::kind::relayed, {}};
      }
    }
  }

  // The server's entry point: a token of 8 bytes takes the sealed path (encrypted sessions),
  // where a plaintext member's session id alone must not be accepted.
  const auto got = m.r->on_datagram(*decoded, from, w.now, w.out);
  if (i < 0) {
    FUZZ_CHECK(got.what == datagram_outcome::kind::dropped,
               "a datagram with a token this room never issued (or a closed room's) was accepted by " + m.name);
  }
  FUZZ_CHECK(
      got.what == expected.what && (got.what != datagram_outcome::kind::dropped || got.reason == expected.reason),
      "outcome " + std::to_string(static_cast<int>(got.what)) + "/" + std::string(errc_name(got.reason)) + ", model " +
          std::to_string(static_cast<int>(expected.what)) + "/" + std::string(errc_name(expected.reason)));
  if (trace) {
    std::fprintf(stderr, "datagram to %s from %s token %s message %s: %s %s, %zu outputs\n", m.name.c_str(),
                 from.to_string().c_str(), fuzz::hex(token, 8).c_str(), fuzz::hex(msg, 16).c_str(),
                 got.what == datagram_outcome::kind::dropped ? "dropped" : "accepted",
                 got.what == datagram_outcome::kind::dropped ? std::string(errc_name(got.reason)).c_str() : "",
                 w.out.log.size());
  }
  std::size_t pos = 0;
  match(w, m, expect, union_of(joined_before, m.joined_endpoints()), from, pos, "datagram");
  finish(w, pos, "datagram");
}

void do_unreachable(world& w, room_model& m, const peer_address& to) {
  const auto joined_before = m.joined_endpoints();
  std::vector<std::string> expect;
  if (!m.closed) {
    for (std::size_t i = 0; i < m.members.size(); ++i) {
      if (!m.members[i].joined || m.members[i].endpoint != to) continue;
      member_model& mm = m.members[i];
      if (mm.unreachable++ == 0) mm.unreachable_since = w.now;
      if (mm.unreachable >= m.limits.unreachable_limit && w.now - mm.unreachable_since >= m.limits.unreachable_grace)
        m.remove(i, removal::unreachable, expect);
      break;
    }
  }
  m.r->on_unreachable(to, w.now, w.out);
  std::size_t pos = 0;
  match(w, m, expect, joined_before, std::nullopt, pos, "on_unreachable");
  finish(w, pos, "on_unreachable");
}

void do_expire(world& w, room_model& m) {
  const auto deadline = m.r->next_deadline();
  const bool something_due = deadline && w.now >= *deadline;
  m.r->expire(w.now, w.out);
  FUZZ_CHECK(something_due || w.out.log.empty(), "expire() before next_deadline() did something");
  FUZZ_CHECK(!something_due || !w.out.log.empty(), "expire() at next_deadline() removed nobody");

  // Members due at the same instant may be removed in any order; each removal is one block of
  // output, identified by its removal event.
  std::size_t pos = 0;
  while (!m.closed) {
    const bool any_due =
        std::any_of(m.members.begin(), m.members.end(), [&](const auto& x) { return m.due(x, w.now); });
    if (!any_due) break;
    std::size_t k = pos;
    while (k < w.out.log.size() && (w.out.log[k].is_send || (w.out.log[k].what != room_event::kind::timed_out &&
                                                             w.out.log[k].what != room_event::kind::token_expired)))
      ++k;
    FUZZ_CHECK(k < w.out.log.size(), "expire() kept a member whose time was up");
    const std::string& who = w.out.log[k].username;
    const auto it = std::find_if(m.members.begin(), m.members.end(), [&](const auto& x) { return x.username == who; });
    FUZZ_CHECK(it != m.members.end() && m.due(*it, w.now), "expire() removed " + who + ", whose time was not up");
    const auto joined_before = m.joined_endpoints();
    std::vector<std::string> expect;
    m.remove(static_cast<std::size_t>(it - m.members.begin()), it->joined ? removal::timed_out : removal::token_expired,
             expect);
    match(w, m, expect, joined_before, std::nullopt, pos, "expire");
  }
  finish(w, pos, "expire");
  const auto after = m.r->next_deadline();
  FUZZ_CHECK(!after || *after > w.now, "next_deadline() is not in the future after expire()");
}

void do_shutdown(world& w, room_model& m) {
  const auto joined_before = m.joined_endpoints();
  std::vector<std::string> expect;
  if (!m.closed) {
    for (const auto& x : m.members)
      if (x.joined) expect.push_back(notice_key(x.endpoint, "server_shutdown"));
    m.evict_all(expect);
    expect.push_back(event_key(m.name, room_event::kind::shut_down, {}, std::nullopt, {}));
  }
  m.r->shutdown(w.out);
  std::size_t pos = 0;
  match(w, m, expect, joined_before, std::nullopt, pos, "shutdown");
  finish(w, pos, "shutdown");
}

std::string make_message(fuzz::byte_reader& in, const member_model* owner) {
  switch (in.below(8)) {
    case 0: return {};
    case 1: return encode_control(control_type::leave);
    case 2: return std::string(1, '\0') + std::string(as_text(in.bytes(in.below(48))));
    case 3: return texts[in.below(texts.size())];
    case 4: return std::string(as_text(in.bytes(in.below(256))));
    case 5: {
      // Around the longest text the sender may have relayed.
      const std::size_t limit = max_text_bytes(owner ? owner->username.size() : 5);
      return std::string(limit - 1 + in.below(3), 'a');
    }
    case 6: {
      std::string s = texts[in.below(texts.size())];
      s.insert(in.below(s.size() + 1), bad_sequences[in.below(bad_sequences.size())]);
      return s;
    }
    default: {
      // Two-byte characters: cut at an odd length when the datagram cannot hold them all.
      std::string s;
      const std::size_t n = in.below(2100);
      for (std::size_t k = 0; k < n; ++k) s += "\xc3\xa9";
      return s;
    }
  }
}

void op_datagram(world& w, fuzz::byte_reader& in) {
  room_model* m = pick_room(w, in, true);
  if (!m) return;
  // The token.
  std::string token;
  const token_record* owner_record = nullptr;
  const member_model* owner = nullptr;
  const std::size_t token_kind = in.below(6);
  if (token_kind == 0 && !m->members.empty()) {
    owner = &m->members[in.below(m->members.size())];
    token = owner->token;
  } else if (token_kind <= 2 && !w.tokens.empty()) {
    owner_record = &w.tokens[in.below(w.tokens.size())];
    token = owner_record->token;
    if (token_kind == 2) {
      // One character changed into another base64url character: a different index or secret.
      static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      const std::size_t at = in.below(token.size());
      const char c = alphabet[in.below(64)];
      token[at] = c == token[at] ? (c == 'A' ? 'B' : 'A') : c;
    }
  } else if (token_kind == 3 && !m->members.empty()) {
    // A member's public index alone, as the 8-byte session id of a sealed datagram.
    const auto parsed = parse_token(m->members[in.below(m->members.size())].token);
    std::array<std::uint8_t, 8> id{};
    store_big_endian(parsed->index, id);
    token = std::string(as_text(byte_view(id)));
  } else {
    token = std::string(as_text(in.bytes(1 + in.below(40))));
    if (token.empty()) token = "?";
  }
  if (!owner) {
    const int i = m->find_token(token);
    if (i >= 0) owner = &m->members[static_cast<std::size_t>(i)];
  }
  const ip_address owner_ip = owner ? owner->ip : owner_record ? owner_record->ip : ips[0];
  // Where it comes from.
  peer_address from{ips[in.below(ips.size())], ports[in.below(ports.size())]};
  switch (in.below(5)) {
    case 0: from = owner && owner->joined ? owner->endpoint : peer_address{owner_ip, from.port}; break;
    case 1:
      from = {owner_ip, static_cast<std::uint16_t>((owner && owner->joined ? owner->endpoint.port : from.port) + 1)};
      break;
    case 2: from.ip = owner_ip == ips[0] ? ips[1] : ips[0]; break;
    case 3: break;
    default: {
      const auto joined = m->joined_endpoints();
      if (!joined.empty()) from = joined[in.below(joined.size())];
    }
  }
  const std::string message = make_message(in, owner);
  do_datagram(w, *m, token, message, from);
}

void op_member_action(world& w, fuzz::byte_reader& in, bool host_leaves) {
  room_model* m = pick_room(w, in, false);
  if (!m || m->members.empty()) return;
  std::size_t i = in.below(m->members.size());
  if (host_leaves) {
    const auto it = std::find_if(m->members.begin(), m->members.end(), [](const auto& x) { return x.host; });
    if (it == m->members.end()) return;
    i = static_cast<std::size_t>(it - m->members.begin());
  }
  const member_model x = m->members[i];
  const peer_address from = x.joined ? x.endpoint : peer_address{x.ip, ports[in.below(ports.size())]};
  std::string message;
  const std::size_t action = host_leaves ? 2 : in.below(3);
  if (action == 1) message = texts[in.below(texts.size())];
  if (action == 2) message = encode_control(control_type::leave);
  do_datagram(w, *m, x.token, message, from);
}

void op_create(world& w, fuzz::byte_reader& in) {
  const std::size_t s = in.below(w.slots.size());
  slot& sl = w.slots[s];
  if (sl.current && !sl.current->closed) return;  // the registry would answer room_exists
  if (sl.current) {
    sl.old.push_back(std::move(sl.current));
    if (sl.old.size() > 2) sl.old.erase(sl.old.begin());
  }
  auto m = std::make_unique<room_model>();
  m->name = slot_names[s];
  m->limits.max_members = 2 + in.below(5);
  m->limits.inactivity_timeout = milliseconds(50 + in.below(3000));
  m->limits.token_ttl = milliseconds(50 + in.below(3000));
  constexpr std::array<unsigned, 4> unreachable_limits{1, 2, 3, 255};
  m->limits.unreachable_limit = unreachable_limits[in.below(unreachable_limits.size())];
  m->limits.unreachable_grace = milliseconds(in.below(2) == 0 ? 0 : in.below(3000));
  // Rate limits: none, the defaults, or tight enough that programs of a few steps reach them.
  const std::array<rate_limit, 3> chat_limits{rate_limit{}, room_limits{}.chat, rate_limit{2, 3}};
  const std::array<rate_limit, 3> join_limits{rate_limit{}, room_limits{}.joins, rate_limit{0.5, 2}};
  m->limits.chat = chat_limits[in.below(chat_limits.size())];
  m->limits.joins = join_limits[in.below(join_limits.size())];
  m->r = std::make_unique<room>(m->name, std::nullopt, m->limits);
  sl.current = std::move(m);
  std::string storage;
  const std::string username = pick_username(in, storage);
  do_admit(w, *sl.current, username, ips[in.below(ips.size())], true);
}

void op_advance(world& w, fuzz::byte_reader& in) {
  const std::size_t mode = in.below(4);
  if (mode == 0) {
    w.now += milliseconds(in.below(4096));
    return;
  }
  if (mode == 1) {
    w.now += nanoseconds(1);
    return;
  }
  std::optional<time_point> next;
  for (const auto& s : w.slots) {
    if (!s.current) continue;
    const auto d = s.current->r->next_deadline();
    if (d && (!next || *d < *next)) next = d;
  }
  if (!next) return;
  const time_point target = mode == 2 ? *next : *next - nanoseconds(1);
  if (target > w.now) w.now = target;
}

void check_world(const world& w) {
  for (const auto& s : w.slots) {
    if (s.current) check_room(*s.current);
    for (const auto& o : s.old) {
      FUZZ_CHECK(o->closed, "an old room is open");
      check_room(*o);
    }
  }
  FUZZ_CHECK(w.out.log.empty(), "output left unchecked");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::byte_reader in(byte_view(data, size));
  world w;
  for (int steps = 0; steps < 400 && !in.empty(); ++steps) {
    const int op = in.u8() % 10;
    if (trace)
      std::fprintf(stderr, "step %d: op %d at t=%lld ns\n", steps, op,
                   static_cast<long long>(w.now.time_since_epoch().count()));
    switch (op) {
      case 0: op_create(w, in); break;
      case 1: {
        room_model* m = pick_room(w, in, true);
        std::string storage;
        const std::string username = pick_username(in, storage);
        const ip_address ip = ips[in.below(ips.size())];
        if (m) do_admit(w, *m, username, ip, false);
        break;
      }
      case 2: op_datagram(w, in); break;
      case 3: op_member_action(w, in, false); break;
      case 4: op_member_action(w, in, true); break;
      case 5: {
        room_model* m = pick_room(w, in, true);
        if (!m) break;
        peer_address to{ips[in.below(ips.size())], ports[in.below(ports.size())]};
        const auto joined = m->joined_endpoints();
        if (!joined.empty() && in.flag()) to = joined[in.below(joined.size())];
        do_unreachable(w, *m, to);
        break;
      }
      case 6: op_advance(w, in); break;
      case 7: {
        room_model* m = pick_room(w, in, true);
        if (m) do_expire(w, *m);
        break;
      }
      case 8: {
        room_model* m = pick_room(w, in, true);
        if (m) do_shutdown(w, *m);
        break;
      }
      default:
        for (auto& s : w.slots)
          if (s.current) do_expire(w, *s.current);
        break;
    }
    check_world(w);
  }
  return 0;
}
