#include "libchat/control.hpp"

#include <catch2/catch.hpp>

#include "support/catch_strings.hpp"
#include "support/frames.hpp"
#include "support/hex.hpp"

#include <string>

using namespace libchat;
using chat_test::control_message;
using chat_test::from_hex;

TEST_CASE("encode_control writes the leave message byte for byte, and parse_control reads it", "[control]") {
  const std::string leave = encode_control(control_type::leave);
  CHECK(chat_test::to_bytes(leave) == from_hex("00 7b 22 74 79 70 65 22 3a 22 6c 65 61 76 65 22 7d"));
  const auto r = parse_control(as_bytes(leave));
  REQUIRE(r.has_value());
  CHECK(*r == control_type::leave);
}

TEST_CASE("parse_control accepts leave with whitespace and unknown keys", "[control]") {
  for (const char* json : {R"({"type":"leave","note":"bye"})", R"( { "type" : "leave" } )",
                           R"({"reason":{"why":["tired"]},"type":"leave"})"}) {
    INFO(json);
    const auto r = parse_control(as_bytes(control_message(json)));
    REQUIRE(r.has_value());
    CHECK(*r == control_type::leave);
  }
}

TEST_CASE("parse_control rejects everything else with bad_control", "[control]") {
  struct bad_case {
    const char* name;
    std::string message;
  };
  const bad_case cases[] = {
      {"empty message", ""},
      {"missing 0x00 marker", R"({"type":"leave"})"},
      {"another marker byte", "\x01{\"type\":\"leave\"}"},
      {"marker only", control_message("")},
      {"not JSON", control_message("leave")},
      {"truncated JSON", control_message(R"({"type":"leave")")},
      {"trailing garbage", control_message(R"({"type":"leave"}x)")},
      {"two objects", control_message(R"({"type":"leave"}{"type":"leave"})")},
      {"array", control_message(R"(["leave"])")},
      {"string", control_message(R"("leave")")},
      {"number", control_message("0")},
      {"null", control_message("null")},
      {"empty object", control_message("{}")},
      {"type missing", control_message(R"({"kind":"leave"})")},
      {"unknown type", control_message(R"({"type":"dance"})")},
      {"type in another case", control_message(R"({"type":"LEAVE"})")},
      {"type is a number", control_message(R"({"type":1})")},
      {"type is null", control_message(R"({"type":null})")},
      {"type is an object", control_message(R"({"type":{"leave":true}})")},
      {"duplicate type", control_message(R"({"type":"leave","type":"leave"})")},
      {"invalid UTF-8", control_message("{\"type\":\"leave\",\"x\":\"\xff\"}")},
      {"too deep", control_message(R"({"type":"leave","x":)" + std::string(100, '[') + std::string(100, ']') + "}")},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto r = parse_control(as_bytes(c.message));
    REQUIRE(r.has_error());
    CHECK(r.error() == errc::bad_control);
  }
}

TEST_CASE("each notice encodes to its exact JSON and parses back", "[control]") {
  struct notice_case {
    notice n;
    const char* name;
    const char* json;
  };
  const notice_case cases[] = {
      {{.event = notice_event::joined, .user = "bob"}, "joined", R"({"event":"joined","user":"bob"})"},
      {{.event = notice_event::left, .user = "bob", .reason = "leave"}, "left",
       R"({"event":"left","user":"bob","reason":"leave"})"},
      {{.event = notice_event::left, .user = "bob", .reason = "timeout"}, "left",
       R"({"event":"left","user":"bob","reason":"timeout"})"},
      {{.event = notice_event::timeout}, "timeout", R"({"event":"timeout"})"},
      {{.event = notice_event::room_closed, .reason = "host_left"}, "room_closed",
       R"({"event":"room_closed","reason":"host_left"})"},
      {{.event = notice_event::server_shutdown}, "server_shutdown", R"({"event":"server_shutdown"})"},
      {{.event = notice_event::pong}, "pong", R"({"event":"pong"})"},
      {{.event = notice_event::error, .error = "too_long"}, "error", R"({"event":"error","error":"too_long"})"},
      {{.event = notice_event::joined, .user = "\xc3\xa9lodie \"q\""}, "joined",
       R"({"event":"joined","user":"élodie \"q\""})"},
  };
  for (const auto& c : cases) {
    INFO(c.json);
    CHECK(notice_event_name(c.n.event) == c.name);
    CHECK(encode_notice(c.n) == c.json);
    const auto back = parse_notice(c.json);
    REQUIRE(back.has_value());
    CHECK(back->event == c.n.event);
    CHECK(back->event_name == c.name);
    CHECK(back->user == c.n.user);
    CHECK(back->reason == c.n.reason);
    CHECK(back->error == c.n.error);
  }
  CHECK(notice_event_name(notice_event::unknown) == "unknown");
}

TEST_CASE("an unknown event is kept as unknown with its name and fields", "[control]") {
  const auto r = parse_notice(R"({"event":"typing","user":"bob","extra":[1,2]})");
  REQUIRE(r.has_value());
  CHECK(r->event == notice_event::unknown);
  CHECK(r->event_name == "typing");
  CHECK(r->user == "bob");

  notice n;
  n.event = notice_event::unknown;
  n.event_name = "typing";
  n.user = "bob";
  CHECK(encode_notice(n) == R"({"event":"typing","user":"bob"})");
}

TEST_CASE("parse_notice accepts null fields as absent and rejects malformed notices", "[control]") {
  const auto with_null = parse_notice(R"({"event":"left","user":"bob","reason":null})");
  REQUIRE(with_null.has_value());
  CHECK(with_null->reason.empty());

  struct bad_case {
    const char* name;
    const char* json;
    errc expected;
  };
  const bad_case cases[] = {
      {"not JSON", "pong", errc::invalid_json},
      {"empty", "", errc::invalid_json},
      {"array", R"(["pong"])", errc::not_an_object},
      {"no event", R"({"user":"bob"})", errc::missing_field},
      {"event is a number", R"({"event":1})", errc::wrong_field_type},
      {"event is null", R"({"event":null})", errc::wrong_field_type},
      {"user is a number", R"({"event":"joined","user":5})", errc::wrong_field_type},
      {"reason is an object", R"({"event":"left","user":"bob","reason":{}})", errc::wrong_field_type},
      {"error is a bool", R"({"event":"error","error":true})", errc::wrong_field_type},
      {"duplicate event", R"({"event":"pong","event":"timeout"})", errc::duplicate_key},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto r = parse_notice(c.json);
    REQUIRE(r.has_error());
    CHECK(r.error() == c.expected);
  }
}
