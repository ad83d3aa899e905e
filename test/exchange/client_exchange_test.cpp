// libchat::client_exchange: the shared client transcripts (test/vectors/transcripts.json, which
// the desktop client's tests play too), the key exchange, and whole exchanges against
// libchat::server_exchange in memory, byte for byte, split at every point.
#include "libchat/client_exchange.hpp"

#include "exchange/server_world.hpp"
#include "libchat/server_exchange.hpp"
#include "support/frames.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <fstream>
#include <sstream>

using namespace chat_test;
using failure_kind = libchat::exchange_failure::kind;

namespace {

boost::json::object load(const char* path) {
  std::ifstream file(path);
  REQUIRE(file);
  std::stringstream text;
  text << file.rdbuf();
  return boost::json::parse(text.str()).as_object();
}

std::string str(const boost::json::value& v) { return std::string(v.as_string()); }

byte_vector frame_bytes(const boost::json::object& f) {
  if (f.contains("hex")) return from_hex(str(f.at("hex")));
  return tcrp_frame(static_cast<std::uint8_t>(f.at("operation").as_int64()),
                    static_cast<std::uint8_t>(f.at("state").as_int64()), str(f.at("room")), str(f.at("payload")));
}

// Plays the client machine against a fixed stream of server bytes, `chunk` bytes per read, then EOF.
void play(libchat::client_exchange& x, const byte_vector& stream, bool close_after, std::size_t chunk) {
  std::size_t fed = 0;
  auto a = x.start();
  for (int guard = 0; guard < 100000 && a.what != libchat::client_action::kind::done; ++guard) {
    if (a.what == libchat::client_action::kind::write) {
      a = x.on_written();
      continue;
    }
    if (fed == stream.size()) {
      REQUIRE(close_after);  // otherwise the client would wait: the adapter's deadline's business
      a = x.on_closed();
      continue;
    }
    const std::size_t n = std::min({a.buffer.size(), stream.size() - fed, chunk});
    REQUIRE(n > 0);
    std::copy_n(stream.begin() + static_cast<std::ptrdiff_t>(fed), n, a.buffer.begin());
    fed += n;
    a = x.on_read(n);
  }
  REQUIRE(x.done());
}

}  // namespace

TEST_CASE("the shared client transcripts", "[exchange][vectors]") {
  const auto vectors = load(TRANSCRIPT_VECTORS_PATH);
  const auto& cases = vectors.at("cases").as_array();
  REQUIRE(cases.size() >= 20);
  for (const auto& entry : cases) {
    const auto& c = entry.as_object();
    for (std::size_t chunk : {std::size_t{1} << 20, std::size_t{1}}) {
      INFO(str(c.at("name")) << " (chunk " << chunk << ")");
      libchat::client_exchange_config config;
      config.op = static_cast<libchat::operation>(c.at("operation").as_int64());
      config.room = str(c.at("room"));
      config.request.username = str(c.at("username"));
      if (c.at("password").is_string()) config.request.password = str(c.at("password"));
      config.server_name = "127.0.0.1:9000";
      if (c.at("encrypted").as_bool()) {
        const auto key = from_hex(str(c.at("server_key_hex")));
        libchat::public_key pk{};
        std::copy(key.begin(), key.end(), pk.begin());
        config.server_key = pk;
        config.ephemeral_private = from_hex(str(c.at("client_ephemeral_private_hex")));
        // The time the request was sealed at: part of the sealed request, so of every reply's key.
        config.now = libchat::wall_time(std::chrono::seconds(c.at("time").as_int64()));
      }
      byte_vector stream;
      for (const auto& f : c.at("replies").as_array()) {
        const auto bytes = frame_bytes(f.as_object());
        stream.insert(stream.end(), bytes.begin(), bytes.end());
      }
      libchat::client_exchange x(config);
      play(x, stream, c.at("close_after").as_bool(), chunk);

      const auto& expect = c.at("expect").as_object();
      if (expect.contains("grant")) {
        const auto& g = expect.at("grant").as_object();
        REQUIRE(x.grant());
        CHECK(x.grant()->token == str(g.at("token")));
        CHECK(x.grant()->udp_port == g.at("udp_port").as_int64());
        CHECK(x.grant()->host == g.at("host").as_bool());
        CHECK(x.grant()->created == g.at("created").as_bool());
        CHECK((x.grant()->channel != nullptr) == g.contains("session"));
        // A rotation's next key: learned from a sealed completion only (docs/protocol.md §12.3).
        if (g.contains("next_fingerprint")) {
          REQUIRE(x.grant()->next_key);
          CHECK(libchat::key_fingerprint(*x.grant()->next_key) == str(g.at("next_fingerprint")));
        } else {
          CHECK_FALSE(x.grant()->next_key);
        }
      } else {
        const auto& f = expect.at("failure").as_object();
        REQUIRE(x.failure());
        const std::string kind = str(f.at("kind"));
        if (kind == "refused") {
          CHECK(x.failure()->what == failure_kind::refused);
          CHECK(x.failure()->code() == str(f.at("error")));
        } else {
          CHECK(x.failure()->code() == kind);
        }
        CHECK(x.failure()->unauthenticated == f.at("unauthenticated").as_bool());
        CHECK_FALSE(x.failure()->message.empty());
      }
    }
  }
}

TEST_CASE("the key exchange returns the key, or says the server is too old for it", "[exchange]") {
  server_world w;
  libchat::client_exchange_config config;
  config.op = libchat::operation::server_key;
  config.server_name = "test";
  SECTION("against the server machine") {
    libchat::client_exchange x(config);
    auto a = x.start();
    REQUIRE(a.what == libchat::client_action::kind::write);
    const byte_vector request(a.bytes.begin(), a.bytes.end());
    const auto t = w.run(request);
    const auto reply = tcrp_frame(t.frames[0].operation, static_cast<std::uint8_t>(t.frames[0].state),
                                  t.frames[0].room, t.frames[0].payload);
    libchat::client_exchange y(config);
    play(y, reply, true, 7);
    REQUIRE(y.key());
    CHECK(*y.key() == w.key.public_half());
  }
  SECTION("an older server answers bad_request") {
    libchat::client_exchange x(config);
    play(x, tcrp_frame(3, 1, "", R"({"status":400,"error":"bad_request","message":"unknown operation"})"), true, 64);
    REQUIRE(x.failure());
    CHECK(x.failure()->what == failure_kind::no_server_key);
    CHECK(x.failure()->unauthenticated);
  }
  SECTION("a key reply that names a room") {
    libchat::client_exchange x(config);
    play(x, tcrp_frame(3, 1, "lobby", libchat::encode_server_key_response(w.key.public_half())), true, 64);
    REQUIRE(x.failure());
    CHECK(x.failure()->what == failure_kind::bad_reply);
  }
}

namespace {

// The client machine and the server machine talking through memory: each write of one is fed to
// the other's reads, `chunk` bytes at a time. The world carries out the server's other actions.
struct duel {
  server_world& world;
  std::size_t chunk = 1 << 20;

  std::unique_ptr<libchat::client_exchange> run(libchat::client_exchange_config config) {
    // Sealed at the server's time, unless the test says otherwise.
    if (config.now == libchat::wall_time{}) config.now = world.wall_now;
    auto owned = std::make_unique<libchat::client_exchange>(std::move(config));
    libchat::client_exchange& client = *owned;
    libchat::server_exchange server(world.config, world.key, world.ledger, world.replays, world.client, world.wall_now);
    byte_vector to_server, to_client;
    std::size_t server_fed = 0, client_fed = 0;
    auto c = client.start();
    auto s = server.start();
    libchat::room* found = nullptr;
    bool server_closed = false;
    for (int guard = 0; guard < 100000 && c.what != libchat::client_action::kind::done; ++guard) {
      using sk = libchat::server_action::kind;
      if (c.what == libchat::client_action::kind::write) {
        to_server.insert(to_server.end(), c.bytes.begin(), c.bytes.end());
        c = client.on_written();
        continue;
      }
      // The client waits for bytes: let the server run until it has written some, or closed.
      if (client_fed == to_client.size() && !server_closed) {
        switch (s.what) {
          case sk::read: {
            const std::size_t n = std::min({s.buffer.size(), to_server.size() - server_fed, chunk});
            REQUIRE(n > 0);
            std::copy_n(to_server.begin() + static_cast<std::ptrdiff_t>(server_fed), n, s.buffer.begin());
            server_fed += n;
            s = server.on_read(n);
            break;
          }
          case sk::write:
            to_client.insert(to_client.end(), s.bytes.begin(), s.bytes.end());
            s = server.on_written();
            break;
          case sk::route: s = server.on_routed(); break;
          case sk::find_room: {
            auto it = world.rooms.find(std::string(s.room));
            found = it == world.rooms.end() ? nullptr : it->second.get();
            libchat::room_lookup lookup{found != nullptr, false, found ? found->password() : std::nullopt};
            s = server.on_room_lookup(lookup);
            break;
          }
          case sk::check_room: s = server.on_room_checked(found->may_admit(world.clock.now)); break;
          case sk::hash_password: s = server.on_hashed(world.hash(s.password)); break;
          case sk::verify_password: s = server.on_verified(libchat::verify_password(s.password, *s.stored)); break;
          case sk::create_room: {
            auto r = std::make_unique<libchat::room>(std::string(s.request->room), *s.request->password,
                                                     world.room_config);
            auto issued = r->admit(s.request->username, s.request->ip, world.clock.now, world.out,
                                   s.request->make_channel);
            world.rooms[std::string(s.request->room)] = std::move(r);
            s = server.on_admitted(issued);
            break;
          }
          case sk::admit:
            s = server.on_admitted(found->admit(s.request->username, s.request->ip, world.clock.now, world.out,
                                                s.request->make_channel));
            break;
          case sk::close: server_closed = true; break;
        }
        continue;
      }
      if (client_fed == to_client.size()) {
        c = client.on_closed();
        continue;
      }
      const std::size_t n = std::min({c.buffer.size(), to_client.size() - client_fed, chunk});
      std::copy_n(to_client.begin() + static_cast<std::ptrdiff_t>(client_fed), n, c.buffer.begin());
      client_fed += n;
      c = client.on_read(n);
    }
    REQUIRE(client.done());
    return owned;
  }
};

libchat::client_exchange_config room_request(libchat::operation op, std::string room, std::string user,
                                             std::optional<std::string> password,
                                             std::optional<libchat::public_key> key) {
  libchat::client_exchange_config c;
  c.op = op;
  c.room = std::move(room);
  c.request = {std::move(user), std::move(password)};
  c.server_key = key;
  c.server_name = "memory";
  return c;
}

}  // namespace

TEST_CASE("client and server machines in memory: create, join, refusals, encrypted and not", "[exchange]") {
  for (bool encrypted : {false, true}) {
    for (std::size_t chunk : {std::size_t{1} << 20, std::size_t{1}}) {
      INFO((encrypted ? "encrypted" : "plaintext") << ", chunk " << chunk);
      server_world w;
      duel d{w, chunk};
      std::optional<libchat::public_key> key;
      if (encrypted) key = w.key.public_half();

      auto created = d.run(room_request(libchat::operation::create_room, "den", "alice", "pw", key));
      REQUIRE(created->grant());
      CHECK(created->grant()->created);
      CHECK(created->grant()->host);
      CHECK(created->grant()->udp_port == 9001);
      CHECK((created->grant()->channel != nullptr) == encrypted);

      auto joined = d.run(room_request(libchat::operation::join_room, "den", "bob", "pw", key));
      REQUIRE(joined->grant());
      CHECK_FALSE(joined->grant()->host);

      auto wrong = d.run(room_request(libchat::operation::join_room, "den", "eve", "nope", key));
      REQUIRE(wrong->failure());
      CHECK(wrong->failure()->code() == "bad_password");
      CHECK_FALSE(wrong->failure()->unauthenticated);
      CHECK(wrong->failure()->message == "Wrong password for room 'den'.");

      auto taken = d.run(room_request(libchat::operation::join_room, "den", "bob", "pw", key));
      REQUIRE(taken->failure());
      CHECK(taken->failure()->code() == "name_taken");

      auto missing = d.run(room_request(libchat::operation::join_room, "nowhere", "bob", std::nullopt, key));
      REQUIRE(missing->failure());
      CHECK(missing->failure()->code() == "room_not_found");
    }
  }
}

TEST_CASE("a client holding an old copy of the key gets the server's plaintext refusal, unauthenticated",
          "[exchange]") {
  server_world w;
  duel d{w};
  auto stale = libchat::server_key::generate();
  auto reply = d.run(room_request(libchat::operation::create_room, "den", "alice", std::nullopt, stale.public_half()));
  REQUIRE(reply->failure());
  CHECK(reply->failure()->code() == "bad_request");
  CHECK(reply->failure()->unauthenticated);
  CHECK(w.rooms.empty());
}
