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

TEST_CASE("to_tcrp_error maps room decisions to their own code and everything else to bad_request", "[error]") {
  CHECK(to_tcrp_error(errc::bad_password) == tcrp_error::bad_password);
  CHECK(to_tcrp_error(errc::room_not_found) == tcrp_error::room_not_found);
  CHECK(to_tcrp_error(errc::room_closed) == tcrp_error::room_not_found);  // closed while joining
  CHECK(to_tcrp_error(errc::room_exists) == tcrp_error::room_exists);
  CHECK(to_tcrp_error(errc::name_taken) == tcrp_error::name_taken);
  CHECK(to_tcrp_error(errc::room_full) == tcrp_error::room_full);
  CHECK(to_tcrp_error(errc::server_busy) == tcrp_error::server_busy);
  for (errc e : {errc::empty_room_name, errc::unknown_operation, errc::unknown_state, errc::payload_too_large,
                 errc::trailing_bytes, errc::invalid_utf8, errc::control_character, errc::empty_name,
                 errc::name_too_long, errc::invalid_json, errc::not_an_object, errc::duplicate_key,
                 errc::missing_field, errc::wrong_field_type}) {
    INFO(errc_name(e));
    CHECK(to_tcrp_error(e) == tcrp_error::bad_request);
  }
}
