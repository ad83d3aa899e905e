#include "json_mode.hpp"

#include "time_text.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <iostream>

namespace chat_cli {
namespace {

namespace json = boost::json;

void emit(const json::object& event) {
  std::cout << json::serialize(event) << '\n' << std::flush;
}

}  // namespace

json_view::json_view(boost::asio::any_io_executor executor) : input_(std::move(executor)) {}

void json_view::start(input_sink& sink) {
  input_.start([&sink](std::string line) { sink.submit_line(line); }, [&sink] { sink.end_of_input(); });
}

void json_view::connected(const session_info& info) {
  emit({{"type", "connected"},
        {"room", info.room},
        {"user", info.user},
        {"host", info.host},
        {"created", info.created},
        {"udp_port", info.udp_port},
        {"encrypted", info.encrypted},
        {"server_key", info.server_key.empty() ? json::value(nullptr) : json::value(info.server_key)}});
}

void json_view::message(std::string_view from, std::string_view text, wall_time at) {
  // The session passes only valid UTF-8, so serialize() writes it exactly; JSON escaping makes
  // control characters harmless here.
  emit({{"type", "message"}, {"from", from}, {"text", text}, {"time", utc_timestamp(at)}});
}

void json_view::own_message(std::string_view, wall_time) {}  // a script knows what it sent

void json_view::notice(const libchat::notice& n, std::string_view text, wall_time at) {
  json::object event{{"type", "notice"}, {"event", n.event_name}};
  // Every field as the server sent it (libchat already checked that it is one flat object), so
  // that a script sees fields this client does not know. Ours win a clash.
  boost::system::error_code ec;
  const json::value parsed = json::parse(text, ec);
  if (!ec && parsed.is_object()) {
    for (const auto& field : parsed.get_object())
      if (field.key() != "type" && field.key() != "time") event[field.key()] = field.value();
  }
  event["time"] = utc_timestamp(at);
  emit(event);
}

void json_view::info(std::string_view text) {
  std::cerr << "chat-client: " << text << '\n';
}

void json_view::refused(std::string_view code, std::string_view text) {
  emit({{"type", "error"}, {"error", code}, {"message", text}});
}

void json_view::closed(close_reason reason, std::string_view why) {
  input_.stop();
  json::object event{{"type", "closed"}, {"reason", close_reason_name(reason)}};
  if (!why.empty()) event["message"] = why;
  emit(event);
}

void print_json_error(std::string_view code, std::string_view message) {
  emit({{"type", "error"}, {"error", code}, {"message", message}});
}

void print_json_handshake_error(const handshake_error& error) {
  json::object event{{"type", "error"}, {"error", error.code}};
  if (error.what == handshake_error::kind::refused) event["status"] = libchat::http_status(error.refusal);
  event["message"] = error.message;
  if (error.unauthenticated) event["unauthenticated"] = true;
  emit(event);
}

}  // namespace chat_cli
