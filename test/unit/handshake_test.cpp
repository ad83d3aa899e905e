#include "libchat/handshake.hpp"

#include <catch2/catch.hpp>

#include "support/catch_strings.hpp"
#include "support/hex.hpp"

#include <array>
#include <optional>
#include <string>

using namespace libchat;
using chat_test::repeat;

namespace {

std::string nested_arrays(std::size_t depth) { return repeat('[', depth) + repeat(']', depth); }

std::string request_with_username(const std::string& username_json) {
  return R"({"username":)" + username_json + "}";
}

}  // namespace

TEST_CASE("parse_room_request accepts the requests a client may send", "[handshake]") {
  struct accept_case {
    const char* name;
    std::string payload;
    std::string username;
    std::optional<std::string> password;
  };
  const accept_case cases[] = {
      {"username only", R"({"username":"alice"})", "alice", std::nullopt},
      {"with a password", R"({"username":"alice","password":"s3cret"})", "alice", "s3cret"},
      {"keys in another order", R"({"password":"s3cret","username":"alice"})", "alice", "s3cret"},
      {"whitespace around everything", " \n{ \"username\" : \"alice\" ,\t\"password\" : \"p\" }\r\n ", "alice", "p"},
      {"password null means none", R"({"username":"alice","password":null})", "alice", std::nullopt},
      {"empty password means none", R"({"username":"alice","password":""})", "alice", std::nullopt},
      {"unknown keys of every type are ignored",
       R"({"client":"chat-client/1.0","n":1.5,"big":18446744073709551615,"neg":-3,"b":true,"z":null,)"
       R"("caps":[1,"two",{"three":[3]}],"o":{"username":"mallory"},"username":"alice"})",
       "alice", std::nullopt},
      {"a little nesting in an unknown key", R"({"username":"alice","x":[[[[1]]]]})", "alice", std::nullopt},
      {"escapes are decoded", R"({"username":"\u00e9lodie \"el\" \\o/"})", "\xc3\xa9lodie \"el\" \\o/",
       std::nullopt},
      {"surrogate pair escape", R"({"username":"\ud83d\ude00"})", "\xf0\x9f\x98\x80", std::nullopt},
      {"raw UTF-8 username", "{\"username\":\"\xe6\x97\xa5\xe6\x9c\xac\"}", "\xe6\x97\xa5\xe6\x9c\xac",
       std::nullopt},
      {"255-byte username", request_with_username('"' + repeat('u', 255) + '"'), repeat('u', 255), std::nullopt},
      {"1024-byte password", R"({"username":"alice","password":")" + repeat('p', 1024) + "\"}", "alice",
       repeat('p', 1024)},
  };
  for (const auto& c : cases) {
    INFO(c.name << ": " << c.payload);
    const auto r = parse_room_request(c.payload);
    REQUIRE(r.has_value());
    CHECK(r->username == c.username);
    CHECK(r->password == c.password);
  }
}

TEST_CASE("parse_room_request rejects each kind of bad payload with its own error", "[handshake]") {
  struct reject_case {
    const char* name;
    std::string payload;
    errc expected;
  };
  const reject_case cases[] = {
      {"not JSON", "hello", errc::invalid_json},
      {"empty", "", errc::invalid_json},
      {"only whitespace", "  ", errc::invalid_json},
      {"truncated object", R"({"username":"alice")", errc::invalid_json},
      {"truncated string", R"({"username":"ali)", errc::invalid_json},
      {"trailing garbage", R"({"username":"alice"} x)", errc::invalid_json},
      {"a second object", R"({"username":"alice"}{})", errc::invalid_json},
      {"trailing comma", R"({"username":"alice",})", errc::invalid_json},
      {"single quotes", R"({'username':'alice'})", errc::invalid_json},
      {"comment", R"({"username":"alice" /* hi */})", errc::invalid_json},
      {"raw control character in a string", "{\"username\":\"al\tice\"}", errc::invalid_json},
      {"invalid UTF-8 in a string", "{\"username\":\"al\xff" "ce\"}", errc::invalid_json},
      {"invalid UTF-8 in an unknown key", "{\"username\":\"alice\",\"\xc0\x80\":1}", errc::invalid_json},
      {"lone high surrogate escape", R"({"username":"\ud800"})", errc::invalid_json},
      {"lone low surrogate escape", R"({"username":"\udc00"})", errc::invalid_json},
      {"lone surrogate in an unknown key's value", R"({"username":"alice","x":"\ud800"})", errc::invalid_json},
      {"100 nested arrays in an unknown key", R"({"username":"alice","x":)" + nested_arrays(100) + "}",
       errc::invalid_json},
      {"100 nested objects in an unknown key",
       R"({"username":"alice","x":)" + [] {
         std::string s;
         for (int i = 0; i < 100; ++i) s += R"({"a":)";
         return s + "1" + repeat('}', 100);
       }() + "}",
       errc::invalid_json},
      {"array", R"(["alice"])", errc::not_an_object},
      {"empty array", "[]", errc::not_an_object},
      {"string", R"("alice")", errc::not_an_object},
      {"number", "42", errc::not_an_object},
      {"true", "true", errc::not_an_object},
      {"null", "null", errc::not_an_object},
      {"empty object", "{}", errc::missing_field},
      {"username under another key", R"({"user":"alice"})", errc::missing_field},
      {"username only inside a nested object", R"({"x":{"username":"alice"}})", errc::missing_field},
      {"username is a number", R"({"username":42})", errc::wrong_field_type},
      {"username is null", R"({"username":null})", errc::wrong_field_type},
      {"username is an array", R"({"username":["alice"]})", errc::wrong_field_type},
      {"username is an object", R"({"username":{"name":"alice"}})", errc::wrong_field_type},
      {"username is true", R"({"username":true})", errc::wrong_field_type},
      {"empty username", R"({"username":""})", errc::empty_name},
      {"256-byte username", request_with_username('"' + repeat('u', 256) + '"'), errc::name_too_long},
      {"NUL in the username", R"({"username":"al\u0000ice"})", errc::control_character},
      {"newline in the username", R"({"username":"alice\n"})", errc::control_character},
      {"DEL in the username", R"({"username":"alice\u007f"})", errc::control_character},
      {"C1 control in the username", R"({"username":"al\u0085ice"})", errc::control_character},
      {"duplicate username", R"({"username":"alice","username":"mallory"})", errc::duplicate_key},
      {"duplicate password", R"({"password":"a","username":"alice","password":"b"})", errc::duplicate_key},
      {"duplicate unknown key", R"({"username":"alice","x":1,"x":2})", errc::duplicate_key},
      {"duplicate key spelled with an escape", R"({"username":"alice","user\u006eame":"mallory"})",
       errc::duplicate_key},
      {"password over 1024 bytes", R"({"username":"alice","password":")" + repeat('p', 1025) + "\"}",
       errc::wrong_field_type},
      {"password is a number", R"({"username":"alice","password":1234})", errc::wrong_field_type},
      {"password is false", R"({"username":"alice","password":false})", errc::wrong_field_type},
      {"password is an object", R"({"username":"alice","password":{}})", errc::wrong_field_type},
      {"password is an array", R"({"username":"alice","password":["p"]})", errc::wrong_field_type},
  };
  for (const auto& c : cases) {
    INFO(c.name << ": " << c.payload.substr(0, 120));
    const auto r = parse_room_request(c.payload);
    REQUIRE(r.has_error());
    CHECK(r.error() == c.expected);
    // Every one of them is a payload failure, which the server answers with bad_request.
    CHECK(layer_of(c.expected) == error_layer::payload);
  }
}

TEST_CASE("encode_room_request writes what parse_room_request reads", "[handshake]") {
  CHECK(encode_room_request({"alice", std::nullopt}) == R"({"username":"alice"})");
  CHECK(encode_room_request({"alice", "s3cret"}) == R"({"username":"alice","password":"s3cret"})");

  const room_request requests[] = {
      {"alice", std::nullopt},
      {"bob", "correct horse battery staple"},
      {"quote \" and backslash \\", "p\"w\\d"},
      {"\xc3\xa9lodie \xf0\x9f\x98\x80", "\xe6\x97\xa5\xe6\x9c\xac"},
      {repeat('u', 255), repeat('p', 1024)},
  };
  for (const auto& request : requests) {
    const std::string payload = encode_room_request(request);
    INFO(payload.substr(0, 120));
    const auto back = parse_room_request(payload);
    REQUIRE(back.has_value());
    CHECK(back->username == request.username);
    CHECK(back->password == request.password);
  }
}

TEST_CASE("the wire names and statuses of the TCRP error codes", "[handshake]") {
  struct wire_case {
    tcrp_error error;
    const char* name;
    int status;
  };
  const wire_case cases[] = {
      {tcrp_error::bad_request, "bad_request", 400},       {tcrp_error::bad_password, "bad_password", 401},
      {tcrp_error::room_not_found, "room_not_found", 404}, {tcrp_error::room_exists, "room_exists", 409},
      {tcrp_error::name_taken, "name_taken", 409},         {tcrp_error::room_full, "room_full", 403},
      {tcrp_error::server_busy, "server_busy", 503},       {tcrp_error::internal_error, "internal_error", 500},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(wire_name(c.error) == c.name);
    CHECK(http_status(c.error) == c.status);
    tcrp_error parsed = tcrp_error::internal_error;
    CHECK(parse_wire_name(c.name, parsed));
    CHECK(parsed == c.error);
  }
  tcrp_error untouched = tcrp_error::room_full;
  CHECK_FALSE(parse_wire_name("teapot", untouched));
  CHECK_FALSE(parse_wire_name("", untouched));
}

TEST_CASE("parse_response reads an accepted response", "[handshake]") {
  const std::string payload = encode_accepted({"creating room lobby"});
  CHECK(payload == R"({"status":202,"message":"creating room lobby"})");
  const auto r = parse_response(payload);
  REQUIRE(r.has_value());
  REQUIRE(std::holds_alternative<accepted_response>(*r));
  CHECK(std::get<accepted_response>(*r).message == "creating room lobby");

  const auto no_message = parse_response(R"({"status":202})");
  REQUIRE(no_message.has_value());
  REQUIRE(std::holds_alternative<accepted_response>(*no_message));
  CHECK(std::get<accepted_response>(*no_message).message.empty());
}

TEST_CASE("parse_response reads each error code with its status", "[handshake]") {
  CHECK(encode_error({tcrp_error::room_not_found, "There is no room named lobby."}) ==
        R"({"status":404,"error":"room_not_found","message":"There is no room named lobby."})");

  for (tcrp_error e : {tcrp_error::bad_request, tcrp_error::bad_password, tcrp_error::room_not_found,
                       tcrp_error::room_exists, tcrp_error::name_taken, tcrp_error::room_full,
                       tcrp_error::server_busy, tcrp_error::internal_error}) {
    INFO(wire_name(e));
    const auto r = parse_response(encode_error({e, "a sentence for a person"}));
    REQUIRE(r.has_value());
    REQUIRE(std::holds_alternative<error_response>(*r));
    CHECK(std::get<error_response>(*r).error == e);
    CHECK(std::get<error_response>(*r).message == "a sentence for a person");
  }
}

TEST_CASE("parse_response turns an unknown or inconsistent error code into internal_error", "[handshake]") {
  struct case_t {
    const char* name;
    const char* payload;
  };
  const case_t cases[] = {
      {"unknown code", R"({"status":418,"error":"teapot","message":"short and stout"})"},
      {"status disagrees with the code", R"({"status":400,"error":"room_full","message":"short and stout"})"},
      {"no code at all", R"({"status":500,"message":"short and stout"})"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto r = parse_response(c.payload);
    REQUIRE(r.has_value());
    REQUIRE(std::holds_alternative<error_response>(*r));
    CHECK(std::get<error_response>(*r).error == tcrp_error::internal_error);
    CHECK(std::get<error_response>(*r).message == "short and stout");
  }
}

TEST_CASE("parse_response rejects payloads that are not a response", "[handshake]") {
  struct reject_case {
    const char* name;
    const char* payload;
    errc expected;
  };
  const reject_case cases[] = {
      {"not JSON", "<html>", errc::invalid_json},
      {"array", "[202]", errc::not_an_object},
      {"no status", R"({"message":"hi"})", errc::missing_field},
      {"status as a string", R"({"status":"202"})", errc::wrong_field_type},
      {"status as a fraction", R"({"status":202.5})", errc::wrong_field_type},
      {"status below 100", R"({"status":99})", errc::wrong_field_type},
      {"status above 599", R"({"status":600})", errc::wrong_field_type},
      {"a success status other than 202", R"({"status":201,"message":"hi"})", errc::wrong_field_type},
      {"message of the wrong type", R"({"status":202,"message":5})", errc::wrong_field_type},
      {"error code of the wrong type", R"({"status":404,"error":404})", errc::wrong_field_type},
      {"error code null", R"({"status":503,"error":null,"message":"m"})", errc::wrong_field_type},
      {"duplicate status", R"({"status":202,"status":404})", errc::duplicate_key},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto r = parse_response(c.payload);
    REQUIRE(r.has_error());
    CHECK(r.error() == c.expected);
  }
}

TEST_CASE("parse_completion reads what encode_completion writes", "[handshake]") {
  const std::string token = "AQIDBAUGBwgAAQIDBAUGBwgJCgsMDQ4P";
  CHECK(encode_completion({true, token, 9000, true}) ==
        R"({"status":201,"token":"AQIDBAUGBwgAAQIDBAUGBwgJCgsMDQ4P","udp_port":9000,"host":true})");

  for (const completion_response& c : {completion_response{true, token, 9000, true},
                                       completion_response{false, token, 1, false},
                                       completion_response{false, std::string(255, 'x'), 65535, false}}) {
    const auto r = parse_completion(encode_completion(c));
    REQUIRE(r.has_value());
    CHECK(r->created == c.created);
    CHECK(r->token == c.token);
    CHECK(r->udp_port == c.udp_port);
    CHECK(r->host == c.host);
  }

  const auto no_host = parse_completion(R"({"status":200,"token":"abc","udp_port":9000})");
  REQUIRE(no_host.has_value());
  CHECK_FALSE(no_host->host);
  CHECK_FALSE(no_host->created);
}

// A rotation's next key (docs/protocol.md §12.3): a client pins it, so only a usable key whose
// fingerprint agrees is taken; anything else makes the completion malformed.
TEST_CASE("a completion's next key: written with its fingerprint, read only when usable", "[handshake]") {
  completion_response c{true, "abc", 9000, true, 1, std::nullopt};
  std::array<std::uint8_t, 32> key{};
  key[0] = 9;  // the X25519 base point: a usable key
  c.next_key = key;
  const std::string json = encode_completion(c);
  CHECK(json.find(R"("next_key":"CQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")") != std::string::npos);
  CHECK(json.find(R"("next_fingerprint":"SHA256:)") != std::string::npos);
  const auto r = parse_completion(json);
  REQUIRE(r.has_value());
  CHECK(r->next_key == key);

  const std::string base = R"({"status":200,"token":"abc","udp_port":9000,)";
  CHECK_FALSE(parse_completion(base + R"("next_key":"CQAA"})").has_value());  // not 32 bytes
  const std::string zero_key = R"("next_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")";
  CHECK_FALSE(parse_completion(base + zero_key + "}").has_value());  // a small-order point
  const std::string other_fingerprint = R"("next_fingerprint":"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU")";
  CHECK_FALSE(
      parse_completion(base + R"("next_key":"CQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",)" + other_fingerprint + "}")
          .has_value());
  CHECK_FALSE(parse_completion(base + R"("next_key":7})").has_value());
  CHECK_FALSE(parse_completion(base + R"("host":false})")->next_key);
}

TEST_CASE("a completion's udp_host: an IP address where the room's node takes datagrams", "[handshake][cluster]") {
  completion_response c{false, "abc", 9000, false, std::nullopt, std::nullopt};
  CHECK(encode_completion(c).find("udp_host") == std::string::npos);  // single node: absent
  CHECK_FALSE(parse_completion(encode_completion(c))->udp_host);
  for (const std::string host : {"127.0.0.2", "10.1.2.3", "2001:db8::7", "::1", "::ffff:192.0.2.1"}) {
    c.udp_host = host;
    const auto r = parse_completion(encode_completion(c));
    REQUIRE(r.has_value());
    CHECK(r->udp_host == host);
  }
  // Only an address: never a name the client would have to resolve, nor a port or brackets.
  const std::string base = R"({"status":200,"token":"abc","udp_port":9000,"host":false,"udp_host":)";
  for (const std::string bad : {R"("chat.example.com")", R"("")", R"("127.0.0.1:9000")", R"("[::1]")", R"("1.2.3")",
                                R"("1.2.3.256")", R"("fe80::1%eth0")", "7", "null", R"(["10.0.0.1"])"})
    CHECK_FALSE(parse_completion(base + bad + "}").has_value());
  CHECK(valid_udp_host("192.0.2.1"));
  CHECK_FALSE(valid_udp_host("localhost"));
}

TEST_CASE("parse_completion rejects a missing token, a bad port and an unprintable token", "[handshake]") {
  struct reject_case {
    const char* name;
    std::string payload;
    errc expected;
  };
  const reject_case cases[] = {
      {"not JSON", "{", errc::invalid_json},
      {"not an object", R"("token")", errc::not_an_object},
      {"missing token", R"({"status":201,"udp_port":9000,"host":true})", errc::missing_field},
      {"missing port", R"({"status":201,"token":"abc","host":true})", errc::missing_field},
      {"missing status", R"({"token":"abc","udp_port":9000})", errc::missing_field},
      {"port 0", R"({"status":201,"token":"abc","udp_port":0})", errc::wrong_field_type},
      {"port 70000", R"({"status":201,"token":"abc","udp_port":70000})", errc::wrong_field_type},
      {"port 65536", R"({"status":201,"token":"abc","udp_port":65536})", errc::wrong_field_type},
      {"negative port", R"({"status":201,"token":"abc","udp_port":-1})", errc::wrong_field_type},
      {"port as a string", R"({"status":201,"token":"abc","udp_port":"9000"})", errc::wrong_field_type},
      {"status 202 in a completion", R"({"status":202,"token":"abc","udp_port":9000})", errc::wrong_field_type},
      {"status 404 in a completion", R"({"status":404,"token":"abc","udp_port":9000})", errc::wrong_field_type},
      {"token with a space", R"({"status":201,"token":"ab c","udp_port":9000})", errc::wrong_field_type},
      {"token with a newline", R"({"status":201,"token":"abc\n","udp_port":9000})", errc::wrong_field_type},
      {"token with DEL", R"({"status":201,"token":"abc\u007f","udp_port":9000})", errc::wrong_field_type},
      {"token with non-ASCII", R"({"status":201,"token":"t\u00f8ken","udp_port":9000})", errc::wrong_field_type},
      {"empty token", R"({"status":201,"token":"","udp_port":9000})", errc::wrong_field_type},
      {"256-byte token", R"({"status":201,"token":")" + repeat('t', 256) + R"(","udp_port":9000})",
       errc::wrong_field_type},
      {"token as a number", R"({"status":201,"token":12345,"udp_port":9000})", errc::wrong_field_type},
      {"host as a string", R"({"status":201,"token":"abc","udp_port":9000,"host":"yes"})", errc::wrong_field_type},
      {"duplicate token", R"({"status":201,"token":"abc","token":"def","udp_port":9000})", errc::duplicate_key},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto r = parse_completion(c.payload);
    REQUIRE(r.has_error());
    CHECK(r.error() == c.expected);
  }
}

TEST_CASE("parse_final_response reads a completion or a late error", "[handshake]") {
  const auto granted = parse_final_response(encode_completion({false, "abc", 9000, false}));
  REQUIRE(granted.has_value());
  REQUIRE(std::holds_alternative<completion_response>(*granted));
  CHECK(std::get<completion_response>(*granted).token == "abc");

  const auto refused = parse_final_response(encode_error({tcrp_error::bad_password, "Wrong password."}));
  REQUIRE(refused.has_value());
  REQUIRE(std::holds_alternative<error_response>(*refused));
  CHECK(std::get<error_response>(*refused).error == tcrp_error::bad_password);
  CHECK(std::get<error_response>(*refused).message == "Wrong password.");

  // A 202 is not a final answer, and a broken completion keeps its own error.
  const auto accepted = parse_final_response(encode_accepted({"working"}));
  REQUIRE(accepted.has_error());
  CHECK(accepted.error() == errc::wrong_field_type);
  const auto no_port = parse_final_response(R"({"status":201,"token":"abc"})");
  REQUIRE(no_port.has_error());
  CHECK(no_port.error() == errc::missing_field);
}
