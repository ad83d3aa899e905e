// The TCRP handshake against the real server over real sockets.
#include "server_process.hpp"
#include "wire_client.hpp"

#include "libchat/tcrp.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace chat_test;
using libchat::operation;
using libchat::tcrp_error;

namespace {
std::vector<std::uint8_t> raw_header(std::uint8_t room_size, std::uint8_t op, std::uint8_t state,
                                     std::uint64_t payload_size) {
  std::vector<std::uint8_t> h(32);
  libchat::encode_header({room_size, op, state, payload_size}, std::span<std::uint8_t, 32>(h.data(), 32));
  return h;
}

libchat::error_response only_error(const std::vector<frame>& frames) {
  REQUIRE(frames.size() == 1);
  REQUIRE(frames[0].state == 1);
  auto parsed = libchat::parse_response(frames[0].payload);
  REQUIRE(parsed.has_value());
  REQUIRE(std::holds_alternative<libchat::error_response>(*parsed));
  return std::get<libchat::error_response>(*parsed);
}
}  // namespace

TEST_CASE("create answers 202 then 201 with a token; join answers 202 then 200", "[integration][handshake]") {
  server_process server;
  auto created = handshake(server.tcp_port(), operation::create_room, "lobby", "alice");
  REQUIRE(created.frames.size() == 2);
  CHECK(created.frames[0].state == 1);
  CHECK(created.frames[0].operation == 1);
  CHECK(created.frames[0].room == "lobby");
  CHECK(created.frames[0].payload.find(R"("status":202)") != std::string::npos);
  REQUIRE(created.completion);
  CHECK(created.completion->created);
  CHECK(created.completion->host);
  CHECK(created.completion->udp_port == server.udp_port());
  CHECK(created.completion->token.size() >= 22);  // at least 128 bits in base64url

  auto joined = handshake(server.tcp_port(), operation::join_room, "lobby", "bob");
  REQUIRE(joined.frames.size() == 2);
  CHECK(joined.frames[1].operation == 2);
  REQUIRE(joined.completion);
  CHECK_FALSE(joined.completion->created);
  CHECK_FALSE(joined.completion->host);
  CHECK(joined.completion->token != created.completion->token);
}

TEST_CASE("handshake errors carry the documented code and status", "[integration][handshake]") {
  server_process server;
  REQUIRE(handshake(server.tcp_port(), operation::create_room, "lobby", "alice").completion);

  SECTION("a room that exists") {
    auto r = handshake(server.tcp_port(), operation::create_room, "lobby", "carol");
    REQUIRE(r.error);
    CHECK(r.error->error == tcrp_error::room_exists);
    CHECK(libchat::http_status(r.error->error) == 409);
    CHECK_FALSE(r.completion);
  }
  SECTION("a room that does not exist") {
    auto r = handshake(server.tcp_port(), operation::join_room, "nowhere", "bob");
    REQUIRE(r.error);
    CHECK(r.error->error == tcrp_error::room_not_found);
    CHECK(r.error->message.find("nowhere") != std::string::npos);
  }
  SECTION("a username already in the room") {
    auto r = handshake(server.tcp_port(), operation::join_room, "lobby", "alice");
    REQUIRE(r.error);
    CHECK(r.error->error == tcrp_error::name_taken);
  }
}

TEST_CASE("a full room answers room_full", "[integration][handshake]") {
  server_process server({"--max-members", "2"});
  REQUIRE(handshake(server.tcp_port(), operation::create_room, "small", "alice").completion);
  REQUIRE(handshake(server.tcp_port(), operation::join_room, "small", "bob").completion);
  auto r = handshake(server.tcp_port(), operation::join_room, "small", "carol");
  REQUIRE(r.error);
  CHECK(r.error->error == tcrp_error::room_full);
}

TEST_CASE("malformed requests get bad_request before the close", "[integration][handshake]") {
  server_process server;
  const auto port = server.tcp_port();

  SECTION("unknown operation: the reply echoes it, with an empty room name") {
    auto frames = tcrp_exchange(port, raw_header(5, 9, 0, 2));
    CHECK(only_error(frames).error == tcrp_error::bad_request);
    CHECK(frames[0].operation == 9);
    CHECK(frames[0].room.empty());
  }
  SECTION("a response state sent to the server") {
    CHECK(only_error(tcrp_exchange(port, raw_header(5, 1, 2, 2))).error == tcrp_error::bad_request);
  }
  SECTION("an empty room name") {
    CHECK(only_error(tcrp_exchange(port, raw_header(0, 1, 0, 2))).error == tcrp_error::bad_request);
  }
  SECTION("a declared payload over the limit is refused at once, without the body") {
    const auto start = std::chrono::steady_clock::now();
    auto frames = tcrp_exchange(port, raw_header(5, 1, 0, 8193));
    CHECK(only_error(frames).error == tcrp_error::bad_request);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  }
  SECTION("a 29-byte size beyond 64 bits") {
    auto bytes = raw_header(5, 1, 0, 10);
    bytes[10] = 1;  // 2^(8*21) + 10
    CHECK(only_error(tcrp_exchange(port, bytes)).error == tcrp_error::bad_request);
  }
  SECTION("invalid JSON") {
    auto bytes = libchat::encode_frame(1, libchat::frame_state::request, "room", "{not json");
    CHECK(only_error(tcrp_exchange(port, bytes)).error == tcrp_error::bad_request);
  }
  SECTION("JSON that is not an object") {
    auto bytes = libchat::encode_frame(1, libchat::frame_state::request, "room", R"(["alice"])");
    CHECK(only_error(tcrp_exchange(port, bytes)).error == tcrp_error::bad_request);
  }
  SECTION("a missing username") {
    auto bytes = libchat::encode_frame(1, libchat::frame_state::request, "room", R"({"password":"x"})");
    CHECK(only_error(tcrp_exchange(port, bytes)).error == tcrp_error::bad_request);
  }
  SECTION("invalid UTF-8 in the room name") {
    auto bytes = libchat::encode_frame(1, libchat::frame_state::request, "r\xC0\x80m", R"({"username":"a"})");
    CHECK(only_error(tcrp_exchange(port, bytes)).error == tcrp_error::bad_request);
  }
  SECTION("a control character in the username") {
    auto bytes = libchat::encode_frame(1, libchat::frame_state::request, "room", R"({"username":"a\u001b[2J"})");
    CHECK(only_error(tcrp_exchange(port, bytes)).error == tcrp_error::bad_request);
  }
  SECTION("bytes after the declared payload") {
    auto bytes = libchat::encode_frame(1, libchat::frame_state::request, "room", R"({"username":"a"})");
    bytes.push_back('x');
    CHECK(only_error(tcrp_exchange(port, bytes)).error == tcrp_error::bad_request);
  }
  // None of these created a room.
  CHECK(server.stats().at("rooms") == 0);
}

TEST_CASE("a connection that does not send a whole request in time is closed", "[integration][handshake]") {
  server_process server({"--handshake-timeout", "0.3"});
  const auto start = std::chrono::steady_clock::now();
  // A header that promises a body that never comes: the server closes, without a reply, at the deadline.
  auto frames = tcrp_exchange(server.tcp_port(), raw_header(5, 1, 0, 10), "127.0.0.1", std::chrono::seconds(5));
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(frames.empty());
  CHECK(took >= std::chrono::milliseconds(250));
  CHECK(took < std::chrono::seconds(3));
  CHECK(server.wait_for_log("no complete request within the deadline"));
}

TEST_CASE("past the handshake limit a client is told server_busy", "[integration][handshake]") {
  server_process server({"--max-handshakes", "1", "--handshake-timeout", "3"});
  // Hold the only handshake slot with a connection that sends nothing.
  const int idle = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(server.tcp_port());
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  REQUIRE(::connect(idle, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
  REQUIRE(server.wait_for_log("listening"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the server count it

  auto r = handshake(server.tcp_port(), operation::create_room, "room", "alice");
  REQUIRE(r.error);
  CHECK(r.error->error == tcrp_error::server_busy);
  ::close(idle);
}

TEST_CASE("password-protected rooms", "[integration][handshake][password]") {
  server_process server({"--password-cost", "8"});
  REQUIRE(handshake(server.tcp_port(), operation::create_room, "secret", "alice", "open sesame").completion);

  SECTION("joining without the password") {
    auto r = handshake(server.tcp_port(), operation::join_room, "secret", "bob");
    REQUIRE(r.error);
    CHECK(r.error->error == tcrp_error::bad_password);
    CHECK(libchat::http_status(r.error->error) == 401);
  }
  SECTION("joining with a wrong password") {
    auto r = handshake(server.tcp_port(), operation::join_room, "secret", "bob", "guess");
    REQUIRE(r.error);
    CHECK(r.error->error == tcrp_error::bad_password);
  }
  SECTION("a wrong password does not reveal who is inside") {
    auto r = handshake(server.tcp_port(), operation::join_room, "secret", "alice", "guess");
    REQUIRE(r.error);
    CHECK(r.error->error == tcrp_error::bad_password);  // not name_taken
  }
  SECTION("joining with the right password") {
    auto r = handshake(server.tcp_port(), operation::join_room, "secret", "bob", "open sesame");
    REQUIRE(r.completion);
    CHECK_FALSE(r.completion->host);
  }
  SECTION("the password never appears in the log") {
    handshake(server.tcp_port(), operation::join_room, "secret", "bob", "guess");
    CHECK(server.log().find("open sesame") == std::string::npos);
    CHECK(server.log().find("guess") == std::string::npos);
  }
}
