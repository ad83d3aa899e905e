// fuzz_server_exchange: libchat::server_exchange, the server side of a TCRP exchange, against a
// world whose every answer the fuzzer picks: how the bytes arrive, whether the room exists and has
// a password, whether the hash workers take the job, whether the password is right, how the
// admission ends, and when the connection fails.
//
// Input (FuzzedDataProvider: integers from the end, bytes from the front): a mode — raw bytes as
// the stream, or a well-formed plaintext or sealed request (so that the deep paths are reached;
// the fuzzer cannot seal by chance) with fuzzer-chosen operation, room, username, password and
// trailing bytes — the config (plaintext allowed, the door), then one decision per step.
//
// Oracles besides "no crash, no sanitizer report":
//   - the exchange ends within (stream bytes + a few) steps, and says done() once it asks to close;
//   - every frame it writes is a valid server-to-client TCRP frame, exactly as long as its header
//     says, echoing the request's room (or none, for a request whose header was refused);
//   - nothing is released that was not reserved; when it ends, it holds no hash slot, and a token
//     (and, for a create, a room) only after an admission that succeeded: those passed to the room;
//   - created/joined only through an open door, after an admission that succeeded, and never from
//     a plaintext request when plaintext is not allowed.
#include "common.hpp"
#include "data_provider.hpp"

#include "libchat/handshake.hpp"
#include "libchat/secure_handshake.hpp"
#include "libchat/server_exchange.hpp"
#include "libchat/tcrp.hpp"

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

namespace {

using libchat::errc;
using resource = libchat::admission_ledger::resource;
using kind = libchat::server_action::kind;

const libchat::server_key& fixed_key() {
  static const auto key = [] {
    std::array<std::uint8_t, 32> raw{};
    for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(0x51 + 3 * i);
    return *libchat::server_key::from_private(raw);
  }();
  return key;
}

// Grants what the fuzzer lets it grant, and counts what is held.
class counting_ledger final : public libchat::admission_ledger {
 public:
  explicit counting_ledger(FuzzedDataProvider& in) : in_(in) {}
  bool reserve(resource what, const libchat::ip_address&) override {
    if (in_.ConsumeIntegralInRange<int>(0, 7) == 7) return false;
    ++held[index(what)];
    return true;
  }
  void release(resource what, const libchat::ip_address&) override {
    FUZZ_CHECK(held[index(what)] > 0, "released a resource it did not hold: " + std::to_string(index(what)));
    --held[index(what)];
  }
  libchat::password_budget may_try_password(const libchat::ip_address&, std::string_view) override {
    const int pick = in_.ConsumeIntegralInRange<int>(0, 15);
    return pick == 15   ? libchat::password_budget::client_spent
           : pick == 14 ? libchat::password_budget::room_spent
                        : libchat::password_budget::open;
  }
  void password_failed(const libchat::ip_address&, std::string_view) override {}

  static std::size_t index(resource what) { return static_cast<std::size_t>(what); }
  std::array<int, 3> held{};

 private:
  FuzzedDataProvider& in_;
};

std::string take_text(FuzzedDataProvider& in, std::size_t max) {
  const auto bytes = in.ConsumeBytes<char>(in.ConsumeIntegralInRange<std::size_t>(0, max));
  return std::string(bytes.begin(), bytes.end());
}

// The harness's wall clock: a fixed time, so that an input means the same on every run.
libchat::wall_time fuzz_now() {
  return libchat::wall_time(std::chrono::seconds(1'767'225'600));
}

// The byte stream the client sends.
fuzz::bytes make_stream(FuzzedDataProvider& in, bool& plaintext_request) {
  const int mode = in.ConsumeIntegralInRange<int>(0, 2);
  plaintext_request = mode != 2;
  if (mode == 0) return in.ConsumeBytes<std::uint8_t>(in.ConsumeIntegralInRange<std::size_t>(0, 9000));
  const auto operation = in.ConsumeIntegralInRange<std::uint8_t>(1, 3);
  const std::string room = take_text(in, 255);
  libchat::room_request request{.username = take_text(in, 40)};
  if (in.ConsumeBool()) request.password = take_text(in, 40);
  std::string payload;
  if (mode == 1) {
    payload = libchat::encode_room_request(request);
  } else {
    libchat::client_handshake client(fixed_key().public_half(), operation, room);
    // Mostly on time (the harness's clock is fuzz_now), sometimes off or untimed.
    if (in.ConsumeBool())
      request.sent_at = fuzz_now() + std::chrono::seconds(in.ConsumeIntegralInRange<int>(-100, 100));
    auto sealed = client.seal_request(request);
    FUZZ_CHECK(sealed.has_value(), "a request could not be sealed to a good key");
    payload = std::move(*sealed);
  }
  if (operation == 3 && in.ConsumeBool()) payload.clear();
  auto stream = libchat::encode_frame(operation, libchat::frame_state::request, room, payload);
  const auto tail = in.ConsumeBytes<std::uint8_t>(in.ConsumeIntegralInRange<std::size_t>(0, 64));
  stream.insert(stream.end(), tail.begin(), tail.end());
  return stream;
}

void check_frame(libchat::byte_view bytes, std::string_view room) {
  FUZZ_CHECK(bytes.size() >= libchat::tcrp_header_size, "a write shorter than a header: " + fuzz::hex(bytes));
  const auto header = libchat::decode_header(bytes.first<libchat::tcrp_header_size>());
  const auto ec = libchat::check_header(header, libchat::tcrp_direction::to_client, 1 << 20);
  FUZZ_CHECK(!ec, "the server wrote a frame a client must refuse (" + fuzz::ec_text(ec) + "): " + fuzz::hex(bytes));
  FUZZ_CHECK(bytes.size() == libchat::tcrp_header_size + header.room_name_size + header.payload_size,
             "a frame's length disagrees with its header: " + fuzz::hex(bytes));
  const std::string_view echoed(reinterpret_cast<const char*>(bytes.data()) + libchat::tcrp_header_size,
                                header.room_name_size);
  FUZZ_CHECK(echoed.empty() || echoed == room, "a reply names another room: " + fuzz::hex(bytes));
}

// FUZZ_TRACE=1 in the environment prints each action and the outcome (to read what an input does).
const bool trace = std::getenv("FUZZ_TRACE") != nullptr;

const char* action_name(kind k) {
  switch (k) {
    case kind::read: return "read";
    case kind::route: return "route";
    case kind::write: return "write";
    case kind::find_room: return "find_room";
    case kind::check_room: return "check_room";
    case kind::hash_password: return "hash";
    case kind::verify_password: return "verify";
    case kind::create_room: return "create";
    case kind::admit: return "admit";
    case kind::close: return "close";
  }
  return "?";
}

libchat::password_hash dummy_hash() {
  return libchat::password_hash{.params = {.log2_cost = 1}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  bool plaintext_request = true;
  const fuzz::bytes stream = make_stream(in, plaintext_request);
  // route_joins as in cluster mode: every join also passes the route step (run here, so that the
  // corpus's inputs keep their meaning).
  const libchat::server_exchange_config config{
      .allow_plaintext = in.ConsumeBool(), .udp_port = 9001, .route_joins = true};
  const auto how = static_cast<libchat::door>(in.ConsumeIntegralInRange<int>(0, 2));

  counting_ledger ledger(in);
  libchat::replay_cache replays;
  libchat::server_exchange x(config, fixed_key(), ledger, replays, libchat::ip_address::from_v4({10, 0, 0, 9}),
                             fuzz_now(), how);
  std::size_t fed = 0;
  bool failed = false, admitted = false;
  std::optional<libchat::password_hash> stored;
  auto action = x.start();
  for (std::size_t steps = 0; action.what != kind::close; ++steps) {
    FUZZ_CHECK(steps <= stream.size() + 64, "the exchange does not end: " + std::to_string(steps) + " steps");
    if (trace && (action.what != kind::read || fed == 0)) std::fprintf(stderr, "%s ", action_name(action.what));
    if (in.ConsumeIntegralInRange<int>(0, 31) == 31 || (action.what == kind::read && fed == stream.size())) {
      x.on_failed();  // the deadline, a reset, or the client closed its side
      failed = true;
      break;
    }
    switch (action.what) {
      case kind::read: {
        FUZZ_CHECK(!action.buffer.empty(), "a read into no buffer");
        const std::size_t most = std::min(action.buffer.size(), stream.size() - fed);
        const std::size_t n = 1 + in.ConsumeIntegralInRange<std::size_t>(0, most - 1);
        std::memcpy(action.buffer.data(), stream.data() + fed, n);
        fed += n;
        action = x.on_read(n);
        break;
      }
      case kind::write:
        check_frame(action.bytes, x.room());
        action = x.on_written();
        break;
      case kind::route:
        FUZZ_CHECK(x.operation() == 2, "route for something other than a join");
        action = x.on_routed();
        break;
      case kind::find_room: {
        libchat::room_lookup lookup{.found = in.ConsumeBool(), .at_capacity = in.ConsumeBool()};
        if (in.ConsumeBool()) stored = dummy_hash();
        lookup.password = stored;
        action = x.on_room_lookup(lookup);
        break;
      }
      case kind::check_room: {
        static constexpr std::array refusals{errc::room_closed, errc::room_full, errc::rate_limited};
        const auto pick = in.ConsumeIntegralInRange<std::size_t>(0, refusals.size());
        action = x.on_room_checked(pick == 0 ? std::nullopt : std::optional(refusals[pick - 1]));
        break;
      }
      case kind::hash_password:
        action = x.on_hashed(in.ConsumeBool() ? std::nullopt : std::optional(dummy_hash()));
        break;
      case kind::verify_password: {
        FUZZ_CHECK(action.stored != nullptr, "verify_password without a stored hash");
        const int answer = in.ConsumeIntegralInRange<int>(0, 2);
        action = x.on_verified(answer == 2 ? std::nullopt : std::optional(answer == 0));
        break;
      }
      case kind::create_room:
      case kind::admit: {
        FUZZ_CHECK(action.request != nullptr, "an admission without a request");
        static constexpr std::array failures{errc::room_closed,         errc::name_taken,          errc::room_full,
                                             errc::encryption_required, errc::encryption_mismatch, errc::rate_limited,
                                             errc::room_exists,         errc::room_limit};
        const auto pick = in.ConsumeIntegralInRange<std::size_t>(0, failures.size());
        if (pick == 0) {
          if (action.request->make_channel) FUZZ_CHECK(action.request->make_channel(7) != nullptr, "no channel made");
          admitted = true;
          action = x.on_admitted(libchat::issued_token{.token = "AQIDBAUGBwigoaKjpKWmp6ipqqusra6v", .session = 7});
        } else {
          admitted = false;
          action = x.on_admitted(make_error_code(failures[pick - 1]));
        }
        break;
      }
      case kind::close: break;
    }
  }
  if (!failed) FUZZ_CHECK(x.done(), "asked to close but not done");

  using outcome = libchat::exchange_outcome::kind;
  const auto& o = x.outcome();
  if (trace) {
    std::fprintf(stderr, "%s→ outcome %d (%s), reply %s\n", failed ? "failed " : "", static_cast<int>(o.what),
                 std::string(libchat::refusal_name(o.why)).c_str(), std::string(x.last_reply()).c_str());
  }
  const bool created = o.what == outcome::created, joined = o.what == outcome::joined;
  const auto& held = ledger.held;
  FUZZ_CHECK(held[counting_ledger::index(resource::hash)] == 0, "a hash slot is still held");
  // After a successful admission the room holds the token (and, for a create, the room) as its
  // member's, even when the completion then fails to reach the client.
  const int rooms = held[counting_ledger::index(resource::room)],
            tokens = held[counting_ledger::index(resource::token)];
  FUZZ_CHECK(tokens == (admitted ? 1 : 0), "tokens held at the end: " + std::to_string(tokens));
  FUZZ_CHECK(rooms <= (admitted ? 1 : 0) && !(joined && rooms != 0), "rooms held at the end: " + std::to_string(rooms));
  if (created || joined) {
    FUZZ_CHECK(how == libchat::door::open, "admitted through a closed door");
    FUZZ_CHECK(admitted, "admitted without a successful admission");
    FUZZ_CHECK(config.allow_plaintext || !plaintext_request, "a plaintext request admitted with plaintext off");
  }
  return 0;
}
