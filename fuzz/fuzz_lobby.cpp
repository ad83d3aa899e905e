// fuzz_lobby: random programs of operations on libchat::lobby with a fake clock, checked against a
// model of docs/protocol.md §8 after every step.
//
// Input: a program read from the front (fuzz::byte_reader). The first bytes give the limits
// (max_members 0–5, inactivity timeout 50–3049 ms); then each operation is a byte (mod 4):
//   0 datagram  from one of 12 addresses: a username (pool, fuzzed, a zero length, a length past
//               the end) and a message (keepalive, text, 0x00 control, invalid UTF-8, fuzzed
//               bytes, sizes around 4094 and 4096), or entirely fuzzed bytes
//   1 advance the clock (ms, 1 ns, to the next deadline or 1 ns before it)
//   2 expire    3 shutdown
// Oracles: the outcome is the model's; a relay is the datagram unchanged, sent to every other
// member and never to the sender; nothing goes to an address that is not a member; member_count
// <= max_members; next_deadline() is the earliest due time and expire() removes exactly the
// members whose time is up; shutdown sends server_shutdown to every member and empties the lobby.
#include "common.hpp"

#include "libchat/limits.hpp"
#include "libchat/lobby.hpp"
#include "libchat/utf8.hpp"

#include <algorithm>
#include <array>

namespace {

using namespace libchat;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

const std::array<std::string, 5> usernames{"ann", "bob", "\xc3\xa9ve", std::string(255, 'w'), "x"};
const std::array<std::string, 4> texts{"hi all", "h\xc3\xa9llo \xf0\x9f\x91\x8b", "\x1b[2J", "\xed\xa0\x80"};

struct member_model {
  peer_address endpoint;
  time_point last_seen;
};

struct world {
  lobby_limits limits;
  time_point now = time_point{} + std::chrono::hours(1000);
  std::vector<member_model> members;
  fuzz::recorder out;

  std::optional<time_point> deadline() const {
    std::optional<time_point> next;
    for (const auto& m : members)
      if (!next || m.last_seen + limits.inactivity_timeout < *next) next = m.last_seen + limits.inactivity_timeout;
    return next;
  }
  member_model* find(const peer_address& a) {
    for (auto& m : members)
      if (m.endpoint == a) return &m;
    return nullptr;
  }
};

peer_address address(std::size_t k) {
  const std::uint8_t host = static_cast<std::uint8_t>(1 + k % 4);
  return {ip_address::from_v4({192, 168, 1, host}), static_cast<std::uint16_t>(7000 + k / 4)};
}

std::string key(const peer_address& to, byte_view d) {
  return to.to_string() + " " + fuzz::hex(d, 5000);
}

void check(const world& w, lobby& l) {
  FUZZ_CHECK(l.member_count() == w.members.size(),
             "member_count " + std::to_string(l.member_count()) + ", model " + std::to_string(w.members.size()));
  FUZZ_CHECK(l.member_count() <= w.limits.max_members, "member_count over max_members");
  FUZZ_CHECK(l.next_deadline() == w.deadline(), "next_deadline differs from the earliest due time");
}

void op_datagram(world& w, lobby& l, fuzz::byte_reader& in) {
  const peer_address from = address(in.below(12));
  std::string d;
  if (in.below(8) == 0) {
    d = std::string(as_text(in.bytes(in.below(300))));
  } else {
    std::string name;
    switch (in.below(4)) {
      case 0: name = std::string(as_text(in.bytes(in.below(16)))); break;
      default: name = usernames[in.below(usernames.size())];
    }
    std::string message;
    switch (in.below(7)) {
      case 0: break;
      case 1: message = texts[in.below(texts.size())]; break;
      case 2: message = std::string(1, '\0') + R"({"type":"leave"})"; break;
      case 3: message = std::string(as_text(in.bytes(in.below(64)))); break;
      case 4: {
        // Around the 4094-byte relay limit and the 4096-byte datagram limit.
        const std::size_t total = 4092 + in.below(7);
        message = std::string(total > 1 + name.size() ? total - 1 - name.size() : 0, 'a');
        break;
      }
      case 5: message = "ok\xf0\x9f\x91"; break;
      default: message = std::string(in.below(5000), 'b'); break;
    }
    std::uint8_t size_byte = static_cast<std::uint8_t>(std::min<std::size_t>(name.size(), 255));
    if (in.below(8) == 0) size_byte = in.u8();  // a length that lies
    d = std::string(1, static_cast<char>(size_byte)) + name + message;
  }
  const byte_view bytes = as_bytes(d);

  // The model.
  std::optional<errc> drop;
  std::optional<datagram_outcome::kind> kind;
  if (bytes.size() > max_client_datagram)
    drop = errc::oversize;
  else if (bytes.empty() || bytes[0] == 0 || 1 + std::size_t{bytes[0]} > bytes.size())
    drop = errc::malformed;
  else {
    const std::string_view username = as_text(bytes.subspan(1, bytes[0]));
    const byte_view message = bytes.subspan(1 + std::size_t{bytes[0]});
    if (auto ec = fuzz::reference_check_name(username))
      drop = static_cast<errc>(ec.value());
    else if (!message.empty() && message[0] == 0)
      drop = errc::bad_control;
    else if (!fuzz::reference_valid_utf8(message))
      drop = errc::invalid_utf8;
    else if (bytes.size() > max_server_datagram)
      drop = errc::too_long;
    else if (!w.find(from) && w.members.size() >= w.limits.max_members)
      drop = errc::lobby_full;
    else
      kind = message.empty() ? datagram_outcome::kind::keepalive : datagram_outcome::kind::relayed;
  }
  std::vector<std::string> expect;
  if (kind) {
    if (auto* m = w.find(from))
      m->last_seen = w.now;
    else
      w.members.push_back({from, w.now});
    if (*kind == datagram_outcome::kind::relayed)
      for (const auto& m : w.members)
        if (m.endpoint != from) expect.push_back(key(m.endpoint, bytes));
  }

  const auto got = l.on_datagram(bytes, from, w.now, w.out);
  if (drop) {
    FUZZ_CHECK(got.what == datagram_outcome::kind::dropped && got.reason == *drop,
               "outcome " + std::to_string(static_cast<int>(got.what)) + "/" + std::string(errc_name(got.reason)) +
                   ", model drops it as " + std::string(errc_name(*drop)) + ": " + fuzz::hex(bytes));
  } else {
    FUZZ_CHECK(got.what == *kind, "outcome " + std::to_string(static_cast<int>(got.what)) + "/" +
                                      std::string(errc_name(got.reason)) + ", model " +
                                      std::to_string(static_cast<int>(*kind)));
  }
  std::vector<std::string> sent;
  for (const auto& e : w.out.log) {
    FUZZ_CHECK(e.is_send, "the lobby reported an event");
    FUZZ_CHECK(e.to != from, "the lobby sent a datagram back to its sender");
    FUZZ_CHECK(w.find(e.to), "the lobby sent to " + e.to.to_string() + ", which is not a member");
    sent.push_back(key(e.to, e.datagram));
  }
  w.out.log.clear();
  std::sort(sent.begin(), sent.end());
  std::sort(expect.begin(), expect.end());
  FUZZ_CHECK(sent == expect,
             "relayed " + std::to_string(sent.size()) + " datagrams, model " + std::to_string(expect.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::byte_reader in(byte_view(data, size));
  world w;
  w.limits.max_members = in.below(6);
  w.limits.inactivity_timeout = milliseconds(50 + in.below(3000));
  lobby l(w.limits);
  for (int steps = 0; steps < 400 && !in.empty(); ++steps) {
    switch (in.u8() % 4) {
      case 0: op_datagram(w, l, in); break;
      case 1: {
        const std::size_t mode = in.below(4);
        if (mode == 0)
          w.now += milliseconds(in.below(4096));
        else if (mode == 1)
          w.now += nanoseconds(1);
        else if (const auto d = w.deadline()) {
          const time_point target = mode == 2 ? *d : *d - nanoseconds(1);
          if (target > w.now) w.now = target;
        }
        break;
      }
      case 2: {
        const auto deadline = l.next_deadline();
        const std::size_t before = l.member_count();
        std::erase_if(w.members,
                      [&](const member_model& m) { return w.now - m.last_seen >= w.limits.inactivity_timeout; });
        l.expire(w.now);
        FUZZ_CHECK(w.out.log.empty(), "expire() sent something");
        const bool due = deadline && w.now >= *deadline;
        FUZZ_CHECK(due == (l.member_count() < before), "expire() and next_deadline() disagree");
        const auto after = l.next_deadline();
        FUZZ_CHECK(!after || *after > w.now, "next_deadline() is not in the future after expire()");
        break;
      }
      default: {
        std::vector<std::string> expect;
        using namespace std::string_view_literals;
        constexpr std::string_view shutdown = "\0{\"event\":\"server_shutdown\"}"sv;
        for (const auto& m : w.members) expect.push_back(key(m.endpoint, as_bytes(shutdown)));
        w.members.clear();
        l.shutdown(w.out);
        std::vector<std::string> sent;
        for (const auto& e : w.out.log) sent.push_back(key(e.to, e.datagram));
        w.out.log.clear();
        std::sort(sent.begin(), sent.end());
        std::sort(expect.begin(), expect.end());
        FUZZ_CHECK(sent == expect, "shutdown sent " + std::to_string(sent.size()) + " datagrams, model " +
                                       std::to_string(expect.size()));
        break;
      }
    }
    check(w, l);
  }
  return 0;
}
