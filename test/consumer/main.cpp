// A program outside libchat that uses only its installed public headers and libchat::chat. Both
// consumer projects (find_package/ and add_subdirectory/) build this file. It returns non-zero on
// the first mismatch, so a packaging mistake that still links shows up as a failed test.
//
// It touches each dependency libchat links privately: the handshake payload goes through
// Boost.JSON, and room::admit draws its tokens from Crypto++. A static libchat whose exported link
// interface forgot either one fails to link here.
#include <libchat/datagram.hpp>
#include <libchat/handshake.hpp>
#include <libchat/limits.hpp>
#include <libchat/room.hpp>
#include <libchat/tcrp.hpp>
#include <libchat/tcrp_reader.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "consumer: FAILED: %s\n", what);
    ++failures;
  }
}

// A TCRP create request, encoded and then read back a few bytes at a time as a stream would
// deliver it.
void tcrp_round_trip() {
  const libchat::room_request request{.username = "alice", .password = "hunter2"};
  const std::string payload = libchat::encode_room_request(request);
  const std::vector<std::uint8_t> frame = libchat::encode_frame(
      static_cast<std::uint8_t>(libchat::operation::create_room), libchat::frame_state::request, "lobby", payload);
  check(frame.size() == libchat::tcrp_header_size + 5 + payload.size(), "frame size");

  libchat::tcrp_reader reader(libchat::tcrp_direction::to_server, libchat::default_max_payload);
  std::size_t offset = 0;
  while (reader.state() == libchat::tcrp_reader::status::need_more && offset < frame.size()) {
    const libchat::mutable_byte_view space = reader.prepare();
    const std::size_t n = std::min<std::size_t>({space.size(), frame.size() - offset, 7});
    std::copy_n(frame.begin() + static_cast<std::ptrdiff_t>(offset), n, space.begin());
    reader.commit(n);
    offset += n;
  }
  check(reader.state() == libchat::tcrp_reader::status::frame_ready, "reader has the frame");
  if (reader.state() != libchat::tcrp_reader::status::frame_ready) return;
  check(offset == frame.size(), "reader took the whole frame");
  check(reader.header()->operation == static_cast<std::uint8_t>(libchat::operation::create_room), "operation");
  check(reader.header()->state == static_cast<std::uint8_t>(libchat::frame_state::request), "state");
  check(reader.room() == "lobby", "room name");
  check(reader.payload() == payload, "payload bytes");

  const auto parsed = libchat::parse_room_request(reader.payload());
  check(parsed.has_value(), "payload parses");
  if (!parsed) return;
  check(parsed->username == "alice", "username");
  check(parsed->password == std::optional<std::string>("hunter2"), "password");
}

void client_datagram_round_trip() {
  const std::string token(libchat::token_text_size, 'A');
  std::array<std::uint8_t, libchat::max_client_datagram> buffer{};
  const auto size = libchat::encode_client_datagram("lobby", token, libchat::as_bytes("hello"), buffer);
  check(size.has_value(), "client datagram encodes");
  if (!size) return;
  check(*size == 2 + 5 + token.size() + 5, "client datagram size");

  const auto decoded = libchat::decode_client_datagram(libchat::byte_view(buffer.data(), *size));
  check(decoded.has_value(), "client datagram decodes");
  if (!decoded) return;
  check(decoded->room == "lobby", "datagram room");
  check(decoded->token == token, "datagram token");
  check(libchat::as_text(decoded->message) == "hello", "datagram message");
}

// The adapter side of a room: remembers the last datagram sent to each address.
struct recorder final : libchat::room_output {
  struct sent {
    libchat::peer_address to;
    std::vector<std::uint8_t> bytes;
  };
  std::vector<sent> datagrams;
  std::vector<libchat::room_event::kind> events;

  void send(const libchat::peer_address& to, libchat::byte_view datagram) override {
    datagrams.push_back({to, {datagram.begin(), datagram.end()}});
  }
  void on_event(const libchat::room_event& event) override { events.push_back(event.what); }
};

void room_relay() {
  using namespace std::chrono_literals;
  const libchat::time_point t0{};  // rooms take time as an argument; any origin will do
  const auto ip = libchat::ip_address::from_v4({127, 0, 0, 1});
  const libchat::peer_address alice_at{ip, 5000};
  const libchat::peer_address bob_at{ip, 5001};

  recorder out;
  libchat::room room("lobby", std::nullopt, libchat::room_limits{});
  const auto alice = room.admit("alice", ip, t0, out);
  const auto bob = room.admit("bob", ip, t0, out);
  check(alice.has_value() && alice->host, "alice admitted as host");
  check(bob.has_value() && !bob->host, "bob admitted");
  if (!alice || !bob) return;

  // A keepalive joins alice (and is answered with a pong); bob's first chat line joins him and
  // is relayed to alice.
  const auto keepalive = room.on_datagram(alice->token, {}, alice_at, t0, out);
  check(keepalive.what == libchat::datagram_outcome::kind::keepalive, "keepalive outcome");
  const auto relayed = room.on_datagram(bob->token, libchat::as_bytes("hi alice"), bob_at, t0 + 1s, out);
  check(relayed.what == libchat::datagram_outcome::kind::relayed, "relayed outcome");
  check(room.joined_count() == 2, "two members joined");

  check(!out.datagrams.empty() && out.datagrams.back().to == alice_at, "last datagram goes to alice");
  if (out.datagrams.empty()) return;
  const auto& last = out.datagrams.back().bytes;
  const auto line = libchat::decode_server_datagram(last);
  check(line.has_value() && line->sender == "bob" && libchat::as_text(line->text) == "hi alice",
        "alice receives bob's line");

  // Alice was last heard at t0: her inactivity timeout is the next deadline, and when it passes
  // the host is removed and the room closes.
  const auto deadline = room.next_deadline();
  check(deadline == t0 + libchat::room_limits{}.inactivity_timeout, "next deadline");
  if (!deadline) return;
  room.expire(*deadline, out);
  check(room.closed(), "room closed after the host timed out");
  check(!out.events.empty() && out.events.back() == libchat::room_event::kind::closed, "closed event");
}

}  // namespace

int main() {
  tcrp_round_trip();
  client_datagram_round_trip();
  room_relay();
  if (failures != 0) {
    std::fprintf(stderr, "consumer: %d check(s) failed\n", failures);
    return 1;
  }
  std::puts("consumer: libchat works");
  return 0;
}
