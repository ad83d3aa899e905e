#include "libchat/error.hpp"

#include <catch2/catch.hpp>

#include "support/catch_strings.hpp"

#include <set>
#include <string>

using namespace libchat;

namespace {

// Every enumerator, found by walking the values until errc_name no longer knows one, so that
// errors added later are covered without editing this test.
std::vector<errc> all_errcs() {
  std::vector<errc> out;
  for (int v = 1; v < 256; ++v) {
    const auto e = static_cast<errc>(v);
    if (errc_name(e) == "unknown") break;
    out.push_back(e);
  }
  return out;
}

}  // namespace

TEST_CASE("every errc has a distinct snake_case name and a message of its own", "[error]") {
  const auto errcs = all_errcs();
  REQUIRE(errcs.size() >= 30);
  std::set<std::string> names;
  for (errc e : errcs) {
    const std::string name(errc_name(e));
    INFO(name);
    CHECK(names.insert(name).second);
    for (char c : name) CHECK(((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'));
    const boost::system::error_code ec = make_error_code(e);
    CHECK(ec.category().name() == std::string("libchat"));
    CHECK(ec.message() != "unknown libchat error");
    CHECK(ec == e);
    CHECK(ec.failed());
  }
  CHECK(make_error_code(errc::bad_token).message() == "unknown token");
}

TEST_CASE("every errc belongs to one layer, and the table's order is the enum's", "[error]") {
  CHECK(static_cast<int>(errc::empty_room_name) == 1);
  CHECK(all_errcs().size() + 1 == errc_count);
  CHECK(layer_of(errc::unknown_state) == error_layer::framing);
  CHECK(layer_of(errc::duplicate_key) == error_layer::payload);
  CHECK(layer_of(errc::name_taken) == error_layer::admission);
  CHECK(layer_of(errc::port_mismatch) == error_layer::datagram);
  CHECK(layer_of(errc::replay) == error_layer::crypto);
}

TEST_CASE("TCRP error codes have their wire spelling and status", "[error]") {
  CHECK(wire_name(tcrp_error::room_not_found) == "room_not_found");
  CHECK(http_status(tcrp_error::room_not_found) == 404);
  CHECK(http_status(tcrp_error::rate_limited) == 429);
  CHECK(http_status(tcrp_error::encryption_required) == 426);
  tcrp_error parsed{};
  REQUIRE(parse_wire_name("server_busy", parsed));
  CHECK(parsed == tcrp_error::server_busy);
  CHECK_FALSE(parse_wire_name("no_such_code", parsed));
}
