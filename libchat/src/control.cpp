#include "libchat/control.hpp"

#include "detail/flat_json.hpp"
#include "libchat/limits.hpp"
#include "libchat/members.hpp"
#include "libchat/utf8.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <array>

namespace libchat {
namespace {

constexpr std::array<std::string_view, 8> event_names{"joined",          "left", "timeout", "room_closed",
                                                      "server_shutdown", "pong", "error",   "members"};

// The members notice's own fields; a bad one makes the whole notice invalid, so that a client
// never shows half of a hostile list.
boost::system::error_code read_members(const detail::flat_object& object, notice& n) {
  auto users = object.strings_field("users");
  if (!users) return users.error();
  if (*users == nullptr) return make_error_code(errc::missing_field);
  for (const auto& user : **users)
    if (check_name(user)) return make_error_code(errc::wrong_field_type);
  auto parts = object.integer_field("parts", 1, max_members_parts);
  if (!parts) return parts.error();
  auto part = object.integer_field("part", 1, max_members_parts);
  if (!part) return part.error();
  if (!*parts || !*part) return make_error_code(errc::missing_field);
  if (**part > **parts) return make_error_code(errc::wrong_field_type);
  if (!n.host.empty() && check_name(n.host)) return make_error_code(errc::wrong_field_type);
  n.users = **users;
  n.part = static_cast<std::uint32_t>(**part);
  n.parts = static_cast<std::uint32_t>(**parts);
  return {};
}

}  // namespace

boost::system::result<control_type> parse_control(byte_view message) {
  if (message.empty() || message[0] != control_marker) return make_error_code(errc::bad_control);
  auto object = detail::parse_flat_object(as_text(message.subspan(1)));
  if (!object) return make_error_code(errc::bad_control);
  auto type = object->string_field("type");
  if (!type || !*type) return make_error_code(errc::bad_control);
  if (**type == "leave") return control_type::leave;
  if (**type == "members") return control_type::members;
  return make_error_code(errc::bad_control);
}

std::string encode_control(control_type type) {
  std::string out(1, static_cast<char>(control_marker));
  switch (type) {
    case control_type::leave: out += R"({"type":"leave"})"; break;
    case control_type::members: out += R"({"type":"members"})"; break;
  }
  return out;
}

std::string_view notice_event_name(notice_event e) noexcept {
  const auto i = static_cast<std::size_t>(e);
  return i < event_names.size() ? event_names[i] : std::string_view("unknown");
}

std::string encode_notice(const notice& n) {
  if (n.event == notice_event::members) return encode_members_part(n.part, n.parts, n.host, n.users);
  boost::json::object o;
  o["event"] = n.event == notice_event::unknown ? std::string_view(n.event_name) : notice_event_name(n.event);
  if (!n.user.empty()) o["user"] = n.user;
  if (!n.reason.empty()) o["reason"] = n.reason;
  if (!n.error.empty()) o["error"] = n.error;
  return boost::json::serialize(o);
}

boost::system::result<notice> parse_notice(std::string_view json) {
  auto object = detail::parse_flat_object(json);
  if (!object) return object.error();
  auto event = object->string_field("event");
  if (!event) return event.error();
  if (!*event) return make_error_code(errc::missing_field);
  notice n;
  n.event_name = std::string(**event);
  for (std::size_t i = 0; i < event_names.size(); ++i)
    if (event_names[i] == n.event_name) n.event = static_cast<notice_event>(i);
  for (auto [key, field] :
       {std::pair{"user", &n.user}, {"reason", &n.reason}, {"error", &n.error}, {"host", &n.host}}) {
    auto value = object->string_field(key, true);
    if (!value) return value.error();
    if (*value) *field = std::string(**value);
  }
  if (n.event == notice_event::members) {
    if (auto ec = read_members(*object, n)) return ec;
  }
  return n;
}

}  // namespace libchat
