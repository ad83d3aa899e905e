// Transcript tests of libchat::server_exchange: each plays one whole create or join through the
// machine against a scripted world (server_world.hpp) and checks the actions in order, the
// frames written and the reservations left behind; failures are injected at every step.
#include "libchat/server_exchange.hpp"

#include "exchange/server_world.hpp"
#include "libchat/datagram.hpp"
#include "libchat/handshake.hpp"
#include "libchat/secure_handshake.hpp"
#include "libchat/tcrp.hpp"
#include "support/frames.hpp"

#include <catch2/catch.hpp>

#include <variant>

using namespace chat_test;
using libchat::errc;
using libchat::frame_state;
using libchat::refusal;
using libchat::tcrp_error;
using outcome_kind = libchat::exchange_outcome::kind;

namespace {

constexpr std::uint8_t create_op = 1, join_op = 2, key_op = 3;

byte_vector request(std::uint8_t op, std::string_view room, std::string_view username,
                    std::optional<std::string> password = std::nullopt) {
  return tcrp_frame(op, 0, room, libchat::encode_room_request({std::string(username), password}));
}

libchat::error_response error_of(const std::string& json) {
  auto parsed = libchat::parse_final_response(json);
  REQUIRE(parsed.has_value());
  REQUIRE(std::holds_alternative<libchat::error_response>(*parsed));
  return std::get<libchat::error_response>(*parsed);
}

libchat::completion_response completion_of(const std::string& json) {
  auto parsed = libchat::parse_completion(json);
  REQUIRE(parsed.has_value());
  return *parsed;
}

// The exchange gave back everything it had reserved (the limits forget an address holding nothing).
void check_holds_nothing(const server_world& w) { CHECK(w.ledger.limits.tracked() == 0); }

void check_refused(const transcript& t, refusal why, frame_state state) {
  CHECK(t.outcome.what == outcome_kind::refused);
  CHECK(t.outcome.why == why);
  REQUIRE_FALSE(t.frames.empty());
  CHECK(t.frames.back().state == state);
  CHECK(error_of(t.replies.back()).error == libchat::refusal_error(why));
}

}  // namespace

TEST_CASE("a plaintext create: 202, then the host's token", "[exchange]") {
  server_world w;
  const auto t = w.run(request(create_op, "lobby", "alice"));
  CHECK(t.step_line() == "read find_room write create write-last close");
  REQUIRE(t.frames.size() == 2);
  CHECK(t.frames[0].state == frame_state::response);
  CHECK(t.frames[0].room == "lobby");
  CHECK(t.frames[0].operation == create_op);
  CHECK(t.replies[0] == R"({"status":202,"message":"Creating room 'lobby'."})");
  CHECK(t.frames[1].state == frame_state::completion);
  const auto done = completion_of(t.replies[1]);
  CHECK(done.created);
  CHECK(done.host);
  CHECK(done.udp_port == 9001);
  CHECK_FALSE(done.session);
  CHECK(t.outcome.what == outcome_kind::created);
  CHECK_FALSE(t.outcome.encrypted);
  REQUIRE(w.rooms.count("lobby"));
  CHECK(w.rooms["lobby"]->member_count() == 1);
  CHECK(w.ledger.limits.tracked() == 1);  // the room now holds the address's room and token
}

TEST_CASE("a create with a password hashes it after the 202, and the room keeps the hash", "[exchange]") {
  server_world w;
  const auto t = w.run(request(create_op, "den", "alice", "s3cret"));
  CHECK(t.step_line() == "read find_room write hash create write-last close");
  CHECK(t.outcome.what == outcome_kind::created);
  CHECK(t.outcome.password);
  REQUIRE(w.rooms["den"]->password());
  CHECK(libchat::verify_password("s3cret", *w.rooms["den"]->password()));
}

TEST_CASE("create refusals before the 202: the name, the table, the address's rooms, tokens, hash slot",
          "[exchange]") {
  server_world w;
  SECTION("the room exists") {
    w.add_room("lobby");
    const auto t = w.run(request(create_op, "lobby", "alice"));
    CHECK(t.step_line() == "read find_room write-last close");
    check_refused(t, refusal::room_exists, frame_state::response);
    CHECK(error_of(t.replies[0]).message == "A room named 'lobby' already exists; join it or pick another name.");
  }
  SECTION("the table is full") {
    w.max_rooms = 0;
    check_refused(w.run(request(create_op, "lobby", "alice")), refusal::max_rooms, frame_state::response);
  }
  SECTION("the address hosts as many rooms as it may") {
    w.ledger.limits = libchat::address_limits({.rooms = 1});
    w.config.rooms_per_address = 1;
    REQUIRE(w.run(request(create_op, "one", "alice")).outcome.what == outcome_kind::created);
    const auto t = w.run(request(create_op, "two", "alice", "pw"));
    CHECK(t.step_line() == "read find_room write-last close");  // no hash spent on it
    check_refused(t, refusal::rooms_per_ip, frame_state::response);
    CHECK(error_of(t.replies[0]).message == "Your address already hosts 1 rooms, as many as it may; close one first.");
  }
  SECTION("the address holds as many tokens as it may") {
    w.ledger.limits = libchat::address_limits({.tokens = 0});
    check_refused(w.run(request(create_op, "lobby", "alice")), refusal::tokens_per_ip, frame_state::response);
  }
  SECTION("another hash of the address is in flight") {
    REQUIRE(w.ledger.reserve(libchat::address_resource::hash, w.client));
    check_refused(w.run(request(create_op, "lobby", "alice", "pw")), refusal::hash_per_ip, frame_state::response);
    w.ledger.release(libchat::address_resource::hash, w.client);
  }
  if (w.rooms.empty()) check_holds_nothing(w);
}

TEST_CASE("create refusals after the 202: a lost race, a full table, full hash workers", "[exchange]") {
  server_world w;
  SECTION("another create of the name won") {
    const auto t = w.run(request(create_op, "lobby", "alice"), {fault::kind::create_race});
    check_refused(t, refusal::created_meanwhile, frame_state::completion);
    CHECK(w.rooms["lobby"]->member_count() == 1);  // the winner's host only
  }
  SECTION("the table filled meanwhile: the cap holds") {
    const auto t = w.run(request(create_op, "lobby", "alice"), {fault::kind::table_fills});
    check_refused(t, refusal::max_rooms, frame_state::completion);
    CHECK(w.rooms.empty());
  }
  SECTION("the hash workers are full") {
    const auto t = w.run(request(create_op, "lobby", "alice", "pw"), {fault::kind::hash_queue_full});
    CHECK(t.step_line() == "read find_room write hash write-last close");
    check_refused(t, refusal::hash_queue_full, frame_state::completion);
  }
  check_holds_nothing(w);
}

TEST_CASE("a plaintext join without a password: 202, then a token", "[exchange]") {
  server_world w;
  w.add_room("lobby");
  const auto t = w.run(request(join_op, "lobby", "bob"));
  CHECK(t.step_line() == "read find_room write admit write-last close");
  CHECK(t.replies[0] == R"({"status":202,"message":"Joining room 'lobby'."})");
  const auto done = completion_of(t.replies[1]);
  CHECK_FALSE(done.created);
  CHECK_FALSE(done.host);
  CHECK(t.outcome.what == outcome_kind::joined);
  CHECK(w.rooms["lobby"]->member_count() == 2);
}

TEST_CASE("cluster mode: a join stops at route before its payload is opened, and may be handed on",
          "[exchange][cluster]") {
  server_world w;
  w.config.route_joins = true;
  w.add_room("lobby");
  // Run here: route, then the join as on a single server.
  const auto here = w.run(request(join_op, "lobby", "bob"));
  CHECK(here.step_line() == "read route find_room write admit write-last close");
  CHECK(here.outcome.what == outcome_kind::joined);
  // Handed to the room's home node at route: nothing was answered, opened or reserved here.
  const auto away = w.run(request(join_op, "lobby", "carol"), {fault::kind::forwarded_at_route});
  CHECK(away.step_line() == "read route failed");
  CHECK(away.frames.empty());
  CHECK(away.outcome.username.empty());  // the payload was never read
  CHECK(w.rooms["lobby"]->member_count() == 2);
  // Creates, key requests and malformed requests never stop at route.
  CHECK(w.run(request(create_op, "other", "dan")).step_line() == "read find_room write create write-last close");
  CHECK(w.run(tcrp_frame(key_op, 0, "", "")).step_line() == "read write-last close");
  const auto bad = w.run(tcrp_frame(join_op, 0, "lobby", "{not json"));
  CHECK(bad.step_line() == "read route write-last close");  // a join: routed, then refused where it runs
  check_refused(bad, refusal::malformed, frame_state::response);
}

TEST_CASE("a join to a room that does not exist is refused before the 202", "[exchange]") {
  server_world w;
  const auto t = w.run(request(join_op, "nowhere", "bob"));
  CHECK(t.step_line() == "read find_room write-last close");
  check_refused(t, refusal::room_not_found, frame_state::response);
  CHECK(error_of(t.replies[0]).message == "There is no room named 'nowhere'.");
  check_holds_nothing(w);
}

TEST_CASE("joins to a protected room: the password is checked before name and capacity", "[exchange]") {
  server_world w;
  w.add_room("den", "s3cret");
  SECTION("the right password") {
    const auto t = w.run(request(join_op, "den", "bob", "s3cret"));
    CHECK(t.step_line() == "read find_room write check verify admit write-last close");
    CHECK(t.outcome.what == outcome_kind::joined);
  }
  SECTION("no password: refused without hashing, and charged to no one's budget") {
    const auto t = w.run(request(join_op, "den", "bob"));
    CHECK(t.step_line() == "read find_room write write-last close");
    check_refused(t, refusal::password_needed, frame_state::completion);
    CHECK(w.ledger.limits.password_entries() == 0);
    CHECK(w.ledger.limits.room_password_entries() == 0);
  }
  SECTION("a wrong password, even with a taken name") {
    const auto t = w.run(request(join_op, "den", "host", "guess"));
    CHECK(t.step_line() == "read find_room write check verify write-last close");
    check_refused(t, refusal::wrong_password, frame_state::completion);
    CHECK(error_of(t.replies[1]).message == "Wrong password for room 'den'.");
  }
  SECTION("past the failure budget, even the right password is refused without hashing") {
    w.ledger.limits = libchat::address_limits({.password_failures = 2});
    for (int i = 0; i < 2; ++i) w.run(request(join_op, "den", "eve", "guess"));
    const auto t = w.run(request(join_op, "den", "eve", "s3cret"));
    CHECK(t.step_line() == "read find_room write check write-last close");
    check_refused(t, refusal::password_failures, frame_state::completion);
    w.clock.advance(std::chrono::minutes(10));
    CHECK(w.run(request(join_op, "den", "eve", "s3cret")).outcome.what == outcome_kind::joined);
  }
  SECTION("the hash workers are full") {
    check_refused(w.run(request(join_op, "den", "bob", "s3cret"), {fault::kind::hash_queue_full}),
                  refusal::hash_queue_full, frame_state::completion);
  }
}

TEST_CASE("a password join the room would refuse anyway is refused before the hash", "[exchange]") {
  server_world w;
  w.room_config.max_members = 2;
  w.config.max_members = 2;
  w.add_room("den", "s3cret");
  SECTION("the room is full: no hash, nothing held") {
    REQUIRE(w.run(request(join_op, "den", "bob", "s3cret")).outcome.what == outcome_kind::joined);
    w.clock.advance(std::chrono::seconds(5));
    const auto t = w.run(request(join_op, "den", "carol", "s3cret"));
    CHECK(t.step_line() == "read find_room write check write-last close");
    check_refused(t, refusal::room_full, frame_state::completion);
  }
  SECTION("joins come too fast: no hash") {
    w.rooms["den"] = std::make_unique<libchat::room>("den", w.hash("s3cret"), libchat::room_limits{.joins = {1, 1}});
    REQUIRE(w.run(request(join_op, "den", "bob", "s3cret")).outcome.what == outcome_kind::joined);
    const auto t = w.run(request(join_op, "den", "carol", "s3cret"));
    CHECK(t.step_line() == "read find_room write check write-last close");
    check_refused(t, refusal::join_rate, frame_state::completion);
  }
  SECTION("the client's own tokens are spent: no hash") {
    w.ledger.limits = libchat::address_limits({.tokens = 1});
    w.add_room("lobby");
    REQUIRE(w.run(request(join_op, "lobby", "bob")).outcome.what == outcome_kind::joined);
    const auto t = w.run(request(join_op, "den", "carol", "s3cret"));
    CHECK(t.step_line() == "read find_room write check write-last close");
    check_refused(t, refusal::tokens_per_ip, frame_state::completion);
  }
  SECTION("the name is taken: only known after the hash, so the name stays hidden without the password") {
    const auto wrong = w.run(request(join_op, "den", "host", "guess"));
    check_refused(wrong, refusal::wrong_password, frame_state::completion);
    const auto t = w.run(request(join_op, "den", "host", "s3cret"));
    CHECK(t.step_line() == "read find_room write check verify admit write-last close");
    check_refused(t, refusal::name_taken, frame_state::completion);
  }
}

TEST_CASE("a right password that gets no token counts as a failed try", "[exchange]") {
  server_world w;
  w.ledger.limits = libchat::address_limits({.password_failures = 3});
  w.add_room("den", "s3cret");
  for (int i = 0; i < 3; ++i)
    check_refused(w.run(request(join_op, "den", "host", "s3cret")), refusal::name_taken, frame_state::completion);
  const auto t = w.run(request(join_op, "den", "host", "s3cret"));
  CHECK(t.step_line() == "read find_room write check write-last close");  // no more hashing
  check_refused(t, refusal::password_failures, frame_state::completion);
}

TEST_CASE("password hashes per address follow the hash budget", "[exchange]") {
  server_world w;
  w.ledger.limits = libchat::address_limits({.hash_rate = {0.5, 2}});
  w.add_room("den", "s3cret");
  CHECK(w.run(request(join_op, "den", "bob", "s3cret")).outcome.what == outcome_kind::joined);
  CHECK(w.run(request(create_op, "attic", "bob", "pw")).outcome.what == outcome_kind::created);
  SECTION("a join past it: refused before the hash") {
    const auto t = w.run(request(join_op, "den", "carol", "s3cret"));
    CHECK(t.step_line() == "read find_room write check write-last close");
    check_refused(t, refusal::hash_rate, frame_state::completion);
  }
  SECTION("a create past it: refused before the 202") {
    const auto t = w.run(request(create_op, "cellar", "bob", "pw"));
    CHECK(t.step_line() == "read find_room write-last close");
    check_refused(t, refusal::hash_rate, frame_state::response);
  }
  SECTION("a join without a password to an open room spends none of it") {
    w.add_room("lobby");
    CHECK(w.run(request(join_op, "lobby", "carol")).outcome.what == outcome_kind::joined);
  }
  SECTION("the budget comes back with time") {
    w.clock.advance(std::chrono::seconds(2));
    CHECK(w.run(request(join_op, "den", "carol", "s3cret")).outcome.what == outcome_kind::joined);
  }
}

TEST_CASE("what the room decides about a join reaches the client as its own refusal", "[exchange]") {
  server_world w;
  w.room_config.max_members = 2;
  w.config.max_members = 2;
  w.room_config.joins = {1, 2};
  auto& lobby = w.add_room("lobby");
  (void)lobby;
  SECTION("the name is taken") {
    const auto t = w.run(request(join_op, "lobby", "host"));
    check_refused(t, refusal::name_taken, frame_state::completion);
    CHECK(error_of(t.replies[1]).message == "The name 'host' is already taken in room 'lobby'; pick another.");
  }
  SECTION("the room is full") {
    REQUIRE(w.run(request(join_op, "lobby", "bob")).outcome.what == outcome_kind::joined);
    w.clock.advance(std::chrono::seconds(5));
    const auto t = w.run(request(join_op, "lobby", "carol"));
    check_refused(t, refusal::room_full, frame_state::completion);
    CHECK(error_of(t.replies[1]).message == "Room 'lobby' is full (2 members).");
  }
  SECTION("joins come too fast") {
    w.rooms["lobby"] = std::make_unique<libchat::room>("lobby", std::nullopt, libchat::room_limits{.joins = {1, 1}});
    REQUIRE(w.run(request(join_op, "lobby", "bob")).outcome.what == outcome_kind::joined);
    check_refused(w.run(request(join_op, "lobby", "carol")), refusal::join_rate, frame_state::completion);
  }
  SECTION("the room closed meanwhile") {
    check_refused(w.run(request(join_op, "lobby", "bob"), {fault::kind::room_closes}), refusal::room_closed,
                  frame_state::completion);
  }
  SECTION("a plaintext join to an encrypted room") {
    w.add_room("vault", std::nullopt, true);
    check_refused(w.run(request(join_op, "vault", "bob")), refusal::room_encrypted, frame_state::completion);
    check_holds_nothing(w);
  }
}

TEST_CASE("malformed requests are answered bad_request with the reason, before anything else", "[exchange]") {
  server_world w;
  SECTION("invalid JSON") {
    const auto t = w.run(tcrp_frame(create_op, 0, "lobby", "{not json"));
    CHECK(t.step_line() == "read write-last close");
    check_refused(t, refusal::malformed, frame_state::response);
    CHECK(t.outcome.request_error == errc::invalid_json);
    CHECK(error_of(t.replies[0]).message == "The request is malformed: the payload is not valid JSON.");
  }
  SECTION("an unknown operation") {
    const auto t = w.run(tcrp_frame(9, 0, "lobby", "{}"));
    check_refused(t, refusal::malformed, frame_state::response);
    CHECK(t.outcome.request_error == errc::unknown_operation);
  }
  SECTION("bytes after the payload") {
    auto bytes = request(create_op, "lobby", "alice");
    bytes.push_back('x');
    check_refused(w.run(bytes), refusal::malformed, frame_state::response);
  }
  SECTION("a payload over the limit, refused from its header") {
    w.config.max_payload = 16;
    const auto t = w.run(tcrp_frame(1, create_op, 0, 1u << 20, "l", ""));
    check_refused(t, refusal::malformed, frame_state::response);
    CHECK(t.outcome.request_error == errc::payload_too_large);
  }
  check_holds_nothing(w);
}

TEST_CASE("a connection let in only to be refused is told so once its request is in", "[exchange]") {
  server_world w;
  check_refused(w.run(request(create_op, "lobby", "alice"), {}, libchat::door::server_busy), refusal::max_handshakes,
                frame_state::response);
  check_refused(w.run(request(create_op, "lobby", "alice"), {}, libchat::door::rate_limited),
                refusal::handshakes_per_ip, frame_state::response);
  CHECK(w.rooms.empty());
}

TEST_CASE("a server that requires encryption refuses a plaintext request", "[exchange]") {
  server_world w;
  w.config.allow_plaintext = false;
  const auto t = w.run(request(create_op, "lobby", "alice"));
  check_refused(t, refusal::plaintext, frame_state::response);
  CHECK(w.rooms.empty());
}

TEST_CASE("operation 3 answers the server's key", "[exchange]") {
  server_world w;
  const auto t = w.run(tcrp_frame(key_op, 0, "", ""));
  CHECK(t.step_line() == "read write-last close");
  CHECK(t.outcome.what == outcome_kind::key_sent);
  auto key = libchat::parse_server_key_response(t.frames[0].payload);
  REQUIRE(key.has_value());
  CHECK(*key == w.key.public_half());
}

TEST_CASE("an encrypted create and join: sealed replies, a session id, and working channels", "[exchange]") {
  server_world w;
  w.config.allow_plaintext = false;
  for (std::uint8_t op : {create_op, join_op}) {
    INFO("operation " << int(op));
    libchat::client_handshake client(w.key.public_half(), op, "vault");
    const auto sealed = client.seal_request({op == create_op ? "alice" : "bob", std::nullopt, w.wall_now}).value();
    const auto t = w.run(tcrp_frame(op, 0, "vault", sealed));
    CHECK(t.step_line() == (op == create_op ? "read find_room write create write-last close"
                                            : "read find_room write admit write-last close"));
    CHECK(t.outcome.encrypted);
    REQUIRE(t.frames.size() == 2);
    // Sealed on the wire: the JSON itself does not appear.
    CHECK(t.frames[0].payload.find("202") == std::string::npos);
    auto accepted = client.open_response(t.frames[0].payload);
    REQUIRE(accepted.has_value());
    REQUIRE(std::holds_alternative<libchat::accepted_response>(*accepted));
    auto final_reply = client.open_completion(t.frames[1].payload);
    REQUIRE(final_reply.has_value());
    const auto done = std::get<libchat::completion_response>(*final_reply);
    REQUIRE(done.session);

    // The room's channel for the member was made from this exchange's keys: a sealed keepalive
    // opens at the room and its pong opens at the client.
    auto channel = client.channel(*done.session);
    std::array<std::uint8_t, libchat::max_client_datagram> out{};
    auto n = channel->seal_client_datagram("vault", {}, out);
    REQUIRE(n.has_value());
    auto decoded = libchat::decode_client_datagram(libchat::byte_view(out.data(), *n));
    REQUIRE(decoded.has_value());
    w.out.clear();
    const libchat::peer_address from{w.client, static_cast<std::uint16_t>(5000 + op)};
    const auto o = w.rooms["vault"]->on_datagram(*decoded, from, w.clock.now, w.out);
    CHECK(o.what == libchat::datagram_outcome::kind::keepalive);
    // The pong, then the members notice (the keepalive joined the member).
    REQUIRE(w.out.sent_to(from).size() == 2);
    std::array<std::uint8_t, 4096> opened{};
    for (const auto& reply : w.out.sent_to(from)) CHECK(channel->open_server_datagram(reply, opened).has_value());
  }
}

TEST_CASE("an encrypted request that does not open is refused in plaintext; its bad JSON is refused sealed",
          "[exchange]") {
  server_world w;
  SECTION("not sealed to our key") {
    auto other = libchat::server_key::generate();
    libchat::client_handshake client(other.public_half(), create_op, "lobby");
    const auto t = w.run(tcrp_frame(create_op, 0, "lobby", client.seal_request({"alice", std::nullopt}).value()));
    check_refused(t, refusal::bad_handshake, frame_state::response);
    CHECK_FALSE(t.outcome.encrypted);
  }
  SECTION("an encrypted join to a plaintext room") {
    w.add_room("open");
    libchat::client_handshake client(w.key.public_half(), join_op, "open");
    const auto t =
        w.run(tcrp_frame(join_op, 0, "open", client.seal_request({"bob", std::nullopt, w.wall_now}).value()));
    CHECK(t.outcome.why == refusal::room_not_encrypted);
    REQUIRE(client.open_response(t.frames[0].payload).has_value());
    auto final_reply = client.open_completion(t.frames[1].payload);
    REQUIRE(final_reply.has_value());
    CHECK(std::get<libchat::error_response>(*final_reply).error == tcrp_error::encryption_mismatch);
  }
  check_holds_nothing(w);
}

TEST_CASE("a request split at every byte reads as the same request", "[exchange]") {
  server_world w;
  w.read_chunk = 1;
  const auto t = w.run(request(create_op, "lobby", "alice", "pw"));
  CHECK(t.step_line() == "read find_room write hash create write-last close");
  CHECK(t.outcome.what == outcome_kind::created);
}

TEST_CASE("a failure at any step ends the exchange and gives back everything it reserved", "[exchange]") {
  const std::vector<fault> faults{{fault::kind::read_fails, 1},
                                  {fault::kind::write_fails, 1},
                                  {fault::kind::write_fails, 2},
                                  {fault::kind::fails_while_hashing, 1}};
  for (std::uint8_t op : {create_op, join_op}) {
    for (const auto& f : faults) {
      server_world w;
      if (op == join_op) w.add_room("den", "pw");
      INFO("operation " << int(op) << ", fault " << int(f.what) << " at " << f.at);
      const auto t = w.run(request(op, "den", "someone", "pw"), f);
      if (f.what == fault::kind::write_fails && f.at == 2) {
        // The last reply could not be delivered, but the room was created or joined: it holds
        // the token, and its token TTL takes it back when no datagram comes.
        CHECK(t.outcome.what == (op == create_op ? outcome_kind::created : outcome_kind::joined));
        continue;
      }
      CHECK(t.steps.back() == "failed");
      CHECK(t.outcome.what == outcome_kind::unfinished);
      CHECK(w.rooms.size() == (op == join_op ? 1u : 0u));
      if (op == join_op) CHECK(w.rooms["den"]->member_count() == 1);
      check_holds_nothing(w);
    }
  }
}

TEST_CASE("every refusal has a wire code, a distinct name and a sentence", "[exchange]") {
  CHECK(libchat::refusal_name(refusal::rooms_per_ip) == "rooms_per_ip");
  CHECK(libchat::refusal_error(refusal::rooms_per_ip) == tcrp_error::rate_limited);
  CHECK(libchat::refusal_error(refusal::room_closed) == tcrp_error::room_not_found);
  CHECK(libchat::refusal_error(refusal::wrong_password) == tcrp_error::bad_password);
  CHECK(libchat::refusal_error(refusal::max_rooms) == tcrp_error::server_busy);
}

// Issue 10, item 10: during a key rotation the next key goes only where the current key
// authenticates it: inside a sealed completion; never in a plaintext one or operation 3's answer.
TEST_CASE("a rotation's next key is announced in sealed completions only", "[exchange]") {
  server_world w;
  const auto next = libchat::server_key::generate();
  w.config.next_key = next.public_half();

  libchat::client_handshake client(w.key.public_half(), create_op, "vault");
  const auto sealed = client.seal_request({"alice", std::nullopt, w.wall_now}).value();
  const auto t = w.run(tcrp_frame(create_op, 0, "vault", sealed));
  REQUIRE(t.frames.size() == 2);
  CHECK(t.frames[1].payload.find("next_key") == std::string::npos);  // not visible on the wire
  REQUIRE(client.open_response(t.frames[0].payload).has_value());
  auto final_reply = client.open_completion(t.frames[1].payload);
  REQUIRE(final_reply.has_value());
  const auto& done = std::get<libchat::completion_response>(*final_reply);
  REQUIRE(done.next_key);
  CHECK(*done.next_key == next.public_half());

  const auto plain = w.run(request(create_op, "lobby", "bob"));
  REQUIRE(plain.frames.size() == 2);
  CHECK(plain.replies[1].find("next_key") == std::string::npos);
  CHECK_FALSE(completion_of(plain.replies[1]).next_key);

  const auto key_reply = w.run(tcrp_frame(key_op, 0, "", ""));
  CHECK(key_reply.frames[0].payload.find("next") == std::string::npos);
}
