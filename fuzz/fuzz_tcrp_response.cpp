// fuzz_tcrp_response: the client's parsers of the server's TCRP payloads: parse_response (state 1),
// parse_completion and parse_final_response (state 2).
//
// Input: the payload. Oracles:
//   - failures are JSON or field errors only (never a throw, never another category);
//   - an accepted completion has status 200/201, a token of 1–255 printable ASCII characters and a
//     port 1–65535, as Boost.JSON's DOM reads them, and encodes back to itself;
//   - an accepted response (202 or an error) encodes back to itself; an error whose status
//     disagrees with its code is internal_error;
//   - parse_final_response is the completion if there is one, else the error response, else fails.
#include "common.hpp"

#include "libchat/handshake.hpp"
#include "libchat/limits.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <variant>

namespace {

using libchat::errc;

bool json_error(const boost::system::error_code& ec) {
  return fuzz::is_one_of(
      ec, {errc::invalid_json, errc::not_an_object, errc::duplicate_key, errc::missing_field, errc::wrong_field_type});
}

bool same(const libchat::completion_response& a, const libchat::completion_response& b) {
  return a.created == b.created && a.token == b.token && a.udp_port == b.udp_port && a.host == b.host &&
         a.session == b.session;
}
bool same(const libchat::error_response& a, const libchat::error_response& b) {
  return a.error == b.error && a.message == b.message;
}

std::optional<std::int64_t> dom_int(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v && v->is_int64()) return v->get_int64();
  if (v && v->is_uint64() && v->get_uint64() <= 1'000'000) return static_cast<std::int64_t>(v->get_uint64());
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  boost::json::parse_options options;
  options.max_depth = 8;
  boost::system::error_code dom_ec;
  const boost::json::value dom = boost::json::parse(payload, dom_ec, {}, options);
  const boost::json::object* o = !dom_ec && dom.is_object() ? &dom.get_object() : nullptr;

  const auto response = libchat::parse_response(payload);
  if (!response) {
    FUZZ_CHECK(json_error(response.error()), "parse_response: undefined error " + fuzz::ec_text(response.error()));
  } else {
    FUZZ_CHECK(o != nullptr, "parse_response accepted what Boost.JSON refuses: " + fuzz::hex(payload, 200));
    const auto status = dom_int(*o, "status");
    FUZZ_CHECK(status && *status >= 100 && *status <= 599, "accepted a response without a valid status");
    if (const auto* accepted = std::get_if<libchat::accepted_response>(&*response)) {
      FUZZ_CHECK(*status == 202, "accepted response with status " + std::to_string(*status));
      const auto again = libchat::parse_response(libchat::encode_accepted(*accepted));
      FUZZ_CHECK(again && std::holds_alternative<libchat::accepted_response>(*again) &&
                     std::get<libchat::accepted_response>(*again).message == accepted->message,
                 "accepted response does not round-trip");
    } else {
      const auto& error = std::get<libchat::error_response>(*response);
      FUZZ_CHECK(*status >= 400, "error response with status " + std::to_string(*status));
      if (error.error != libchat::tcrp_error::internal_error) {
        FUZZ_CHECK(libchat::http_status(error.error) == *status, "error code and status disagree");
        const auto* code = o->if_contains("error");
        FUZZ_CHECK(code && code->is_string() && std::string_view(code->get_string()) == libchat::wire_name(error.error),
                   "error code differs from Boost.JSON's reading");
      }
      const auto again = libchat::parse_response(libchat::encode_error(error));
      FUZZ_CHECK(again && std::holds_alternative<libchat::error_response>(*again) &&
                     same(std::get<libchat::error_response>(*again), error),
                 "error response does not round-trip");
    }
  }

  const auto completion = libchat::parse_completion(payload);
  if (!completion) {
    FUZZ_CHECK(json_error(completion.error()),
               "parse_completion: undefined error " + fuzz::ec_text(completion.error()));
  } else {
    const auto& c = *completion;
    FUZZ_CHECK(o != nullptr, "parse_completion accepted what Boost.JSON refuses: " + fuzz::hex(payload, 200));
    FUZZ_CHECK(!c.token.empty() && c.token.size() <= libchat::max_token_bytes,
               "token of " + std::to_string(c.token.size()) + " bytes");
    for (char ch : c.token)
      FUZZ_CHECK(ch >= 0x21 && ch <= 0x7e, "token with a byte that is not printable ASCII: " + fuzz::hex(c.token));
    FUZZ_CHECK(c.udp_port >= 1, "udp_port 0");
    const auto status = dom_int(*o, "status");
    const auto port = dom_int(*o, "udp_port");
    const auto* token = o->if_contains("token");
    const auto* host = o->if_contains("host");
    FUZZ_CHECK(status && *status == (c.created ? 201 : 200), "status differs from Boost.JSON's reading");
    FUZZ_CHECK(port && *port == c.udp_port, "udp_port differs from Boost.JSON's reading");
    FUZZ_CHECK(token && token->is_string() && std::string_view(token->get_string()) == c.token,
               "token differs from Boost.JSON's reading");
    FUZZ_CHECK(host ? host->is_bool() && host->get_bool() == c.host : !c.host,
               "host differs from Boost.JSON's reading");
    const auto again = libchat::parse_completion(libchat::encode_completion(c));
    FUZZ_CHECK(again && same(*again, c), "completion does not round-trip");
  }

  const auto final_response = libchat::parse_final_response(payload);
  if (completion) {
    FUZZ_CHECK(final_response && std::holds_alternative<libchat::completion_response>(*final_response) &&
                   same(std::get<libchat::completion_response>(*final_response), *completion),
               "parse_final_response disagrees with parse_completion");
  } else if (response && std::holds_alternative<libchat::error_response>(*response)) {
    FUZZ_CHECK(
        final_response && std::holds_alternative<libchat::error_response>(*final_response) &&
            same(std::get<libchat::error_response>(*final_response), std::get<libchat::error_response>(*response)),
        "parse_final_response disagrees with parse_response");
  } else {
    FUZZ_CHECK(!final_response && json_error(final_response.error()),
               "parse_final_response accepted a payload neither parser accepts");
  }
  return 0;
}
