#include "libchat/handshake.hpp"

#include "detail/base64url.hpp"
#include "detail/flat_json.hpp"
#include "libchat/address.hpp"
#include "libchat/limits.hpp"
#include "libchat/secure_handshake.hpp"
#include "libchat/utf8.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <array>

namespace libchat {
namespace {

namespace json = boost::json;

}  // namespace

boost::system::result<room_request> parse_room_request(std::string_view payload) {
  auto object = detail::parse_flat_object(payload);
  if (!object) return object.error();
  auto username = object->string_field("username");
  if (!username) return username.error();
  if (!*username) return make_error_code(errc::missing_field);
  if (auto ec = check_name(**username)) return ec;
  auto password = object->string_field("password", /*null_is_absent=*/true);
  if (!password) return password.error();
  auto sent_at = object->integer_field("time", 0, max_request_time);
  if (!sent_at) return sent_at.error();

  room_request request;
  request.username = std::string(**username);
  if (*password && !(*password)->empty()) {
    if ((*password)->size() > max_password_bytes) return make_error_code(errc::wrong_field_type);
    request.password = std::string(**password);
  }
  if (*sent_at) request.sent_at = wall_time(std::chrono::seconds(**sent_at));
  return request;
}

std::string encode_room_request(const room_request& request) {
  json::object o;
  o["username"] = request.username;
  if (request.password) o["password"] = *request.password;
  if (request.sent_at) o["time"] = request.sent_at->time_since_epoch().count();
  return json::serialize(o);
}

std::string encode_accepted(const accepted_response& r) {
  json::object o;
  o["status"] = 202;
  o["message"] = r.message;
  return json::serialize(o);
}

std::string encode_error(const error_response& r) {
  json::object o;
  o["status"] = http_status(r.error);
  o["error"] = wire_name(r.error);
  o["message"] = r.message;
  return json::serialize(o);
}

std::string encode_completion(const completion_response& r) {
  json::object o;
  o["status"] = r.created ? 201 : 200;
  o["token"] = r.token;
  o["udp_port"] = r.udp_port;
  o["host"] = r.host;
  if (r.session) {
    std::array<std::uint8_t, 8> id{};
    store_big_endian(*r.session, id);
    o["session"] = detail::base64url_encode(id);
  }
  if (r.next_key) {
    o["next_key"] = detail::base64url_encode(*r.next_key);
    o["next_fingerprint"] = key_fingerprint(*r.next_key);
  }
  if (r.key_datagrams) o["key_datagrams"] = *r.key_datagrams;
  if (r.udp_host) o["udp_host"] = *r.udp_host;
  return json::serialize(o);
}

boost::system::result<std::variant<accepted_response, error_response>> parse_response(std::string_view payload) {
  auto object = detail::parse_flat_object(payload);
  if (!object) return object.error();
  auto status = object->integer_field("status", 100, 599);
  if (!status) return status.error();
  if (!*status) return make_error_code(errc::missing_field);
  auto message = object->string_field("message", true);
  if (!message) return message.error();
  const std::string text = *message ? std::string(**message) : std::string();

  if (**status == 202) return accepted_response{text};
  if (**status < 400) return make_error_code(errc::wrong_field_type);
  auto code = object->string_field("error");
  if (!code) return code.error();
  error_response r;
  r.message = text;
  if (!*code || !parse_wire_name(**code, r.error) || http_status(r.error) != **status)
    r.error = tcrp_error::internal_error;
  return r;
}

boost::system::result<completion_response> parse_completion(std::string_view payload) {
  auto object = detail::parse_flat_object(payload);
  if (!object) return object.error();
  auto status = object->integer_field("status", 200, 201);
  auto token = object->string_field("token");
  auto port = object->integer_field("udp_port", 1, 65535);
  auto host = object->bool_field("host");
  for (auto ec : {status.has_error() ? status.error() : boost::system::error_code{},
                  token.has_error() ? token.error() : boost::system::error_code{},
                  port.has_error() ? port.error() : boost::system::error_code{},
                  host.has_error() ? host.error() : boost::system::error_code{}})
    if (ec) return ec;
  if (!*status || !*token || !*port) return make_error_code(errc::missing_field);
  const std::string_view t = **token;
  if (t.empty() || t.size() > max_token_bytes) return make_error_code(errc::wrong_field_type);
  for (char c : t)
    if (c <= 0x20 || c >= 0x7f) return make_error_code(errc::wrong_field_type);  // printable ASCII only

  auto session = object->string_field("session");
  if (!session) return session.error();
  completion_response r;
  if (*session) {
    const auto id = detail::base64url_decode(**session);
    if (!id || id->size() != 8) return make_error_code(errc::wrong_field_type);
    std::uint64_t value = 0;
    (void)load_big_endian(*id, value);
    r.session = value;
  }
  // The next key of a rotation: a client pins it, so it must be a usable key, and the fingerprint
  // (there for people reading the JSON) must be the key's.
  auto next_key = object->string_field("next_key");
  auto next_fingerprint = object->string_field("next_fingerprint");
  if (!next_key || !next_fingerprint) return make_error_code(errc::wrong_field_type);
  if (*next_key) {
    r.next_key = usable_key_from_text(**next_key);
    if (!r.next_key) return make_error_code(errc::wrong_field_type);
    if (*next_fingerprint && **next_fingerprint != key_fingerprint(*r.next_key))
      return make_error_code(errc::wrong_field_type);
  }
  // Both sides must update the datagram keys at the same counters: an interval this side cannot
  // use is a broken reply, never a guess.
  auto key_datagrams = object->integer_field("key_datagrams", 1, std::int64_t{1} << 62);
  if (!key_datagrams) return key_datagrams.error();
  if (*key_datagrams) {
    if (!valid_key_datagrams(static_cast<std::uint64_t>(**key_datagrams)))
      return make_error_code(errc::wrong_field_type);
    r.key_datagrams = static_cast<std::uint64_t>(**key_datagrams);
  }
  // Where to send datagrams, in cluster mode: an address, never a name to resolve, so that a
  // completion cannot make a client look anything up.
  auto udp_host = object->string_field("udp_host");
  if (!udp_host) return udp_host.error();
  if (*udp_host) {
    if (!valid_udp_host(**udp_host)) return make_error_code(errc::wrong_field_type);
    r.udp_host = std::string(**udp_host);
  }
  r.created = **status == 201;
  r.token = std::string(t);
  r.udp_port = static_cast<std::uint16_t>(**port);
  r.host = host->value_or(false);
  return r;
}

boost::system::result<std::variant<completion_response, error_response>> parse_final_response(
    std::string_view payload) {
  auto completion = parse_completion(payload);
  if (completion) return *completion;
  auto response = parse_response(payload);
  if (response && std::holds_alternative<error_response>(*response)) return std::get<error_response>(*response);
  return completion.error();
}

bool valid_udp_host(std::string_view text) noexcept {
  return ip_address::parse(text).has_value();
}

}  // namespace libchat
