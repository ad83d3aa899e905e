// fuzz_tcrp_request: the server's parser of a request payload, parse_room_request.
//
// Input: the payload (the JSON text after the room name). Oracles:
//   - a failure is one of the JSON and naming errors, never anything else (and never a throw);
//   - an accepted request has a username that passes check_name and the reference naming rule,
//     and a password that is absent or 1–1024 bytes;
//   - encode_room_request of what was accepted parses back to the same request;
//   - differential against Boost.JSON's DOM parser (same depth limit): what we accept is a JSON
//     object whose "username" and "password" are what we returned; and a DOM object whose
//     username and password are valid is not refused for any reason but a repeated key (which the
//     DOM cannot see: it keeps the last one).
#include "common.hpp"

#include "libchat/handshake.hpp"
#include "libchat/utf8.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace {

using libchat::errc;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  const auto parsed = libchat::parse_room_request(payload);

  boost::json::parse_options options;
  options.max_depth = 8;  // what the protocol allows (docs/protocol.md §2)
  boost::system::error_code dom_ec;
  const boost::json::value dom = boost::json::parse(payload, dom_ec, {}, options);

  if (!parsed) {
    const auto ec = parsed.error();
    FUZZ_CHECK(fuzz::is_one_of(ec, {errc::invalid_json, errc::not_an_object, errc::duplicate_key, errc::missing_field,
                                    errc::wrong_field_type, errc::invalid_utf8, errc::control_character,
                                    errc::empty_name, errc::name_too_long}),
               "undefined error " + fuzz::ec_text(ec));
    // The DOM must not find a perfectly good request where we found none.
    if (!dom_ec && dom.is_object() && !fuzz::is_one_of(ec, {errc::duplicate_key})) {
      const auto& o = dom.get_object();
      const auto* user = o.if_contains("username");
      const auto* pass = o.if_contains("password");
      const bool user_ok =
          user && user->is_string() && !fuzz::reference_check_name(std::string_view(user->get_string()));
      const bool pass_ok = !pass || pass->is_null() || (pass->is_string() && pass->get_string().size() <= 1024);
      FUZZ_CHECK(!(user_ok && pass_ok),
                 "refused (" + fuzz::ec_text(ec) + ") a request Boost.JSON reads as valid: " + fuzz::hex(payload, 200));
    }
    return 0;
  }

  const auto& request = *parsed;
  FUZZ_CHECK(!libchat::check_name(request.username),
             "accepted username fails check_name: " + fuzz::hex(request.username));
  FUZZ_CHECK(!fuzz::reference_check_name(request.username),
             "accepted username breaks the naming rule: " + fuzz::hex(request.username));
  if (request.password) {
    FUZZ_CHECK(!request.password->empty() && request.password->size() <= libchat::max_password_bytes,
               "accepted a password of " + std::to_string(request.password->size()) + " bytes");
    FUZZ_CHECK(libchat::is_valid_utf8(*request.password), "accepted a password that is not UTF-8");
  }

  FUZZ_CHECK(!dom_ec && dom.is_object(),
             "accepted what Boost.JSON refuses (" + fuzz::ec_text(dom_ec) + "): " + fuzz::hex(payload, 200));
  const auto& o = dom.get_object();
  const auto* user = o.if_contains("username");
  FUZZ_CHECK(user && user->is_string() && std::string_view(user->get_string()) == request.username,
             "username differs from Boost.JSON's reading");
  const auto* pass = o.if_contains("password");
  const bool dom_has_password = pass && pass->is_string() && !pass->get_string().empty();
  FUZZ_CHECK(dom_has_password == request.password.has_value(), "password presence differs from Boost.JSON's reading");
  if (dom_has_password) {
    FUZZ_CHECK(std::string_view(pass->get_string()) == *request.password, "password differs from Boost.JSON's reading");
  }

  const std::string encoded = libchat::encode_room_request(request);
  const auto again = libchat::parse_room_request(encoded);
  FUZZ_CHECK(again.has_value(), "the re-encoded request does not parse: " + encoded);
  FUZZ_CHECK(again->username == request.username && again->password == request.password,
             "the re-encoded request parses to other fields: " + encoded);
  return 0;
}
