#include "notice_text.hpp"

namespace chat_cli {
namespace {

std::string room_closed_text(const std::string& reason) {
  const std::string lead = "the room was closed: ";
  if (reason == "host_left") return lead + "the host left";
  if (reason == "host_timeout") return lead + "the host timed out";
  if (reason == "host_unreachable") return lead + "the host became unreachable";
  if (reason == "host_never_joined") return lead + "the host never joined";
  if (reason.empty()) return "the room was closed";
  return lead + reason;
}

std::string left_text(const std::string& user, const std::string& reason) {
  if (reason.empty() || reason == "leave") return user + " left";
  if (reason == "timeout") return user + " timed out";
  if (reason == "unreachable") return user + " became unreachable and was removed";
  return user + " left (" + reason + ")";
}

}  // namespace

std::string describe_notice(const libchat::notice& n) {
  using libchat::notice_event;
  switch (n.event) {
    case notice_event::joined: return n.user + " joined";
    case notice_event::left: return left_text(n.user, n.reason);
    case notice_event::timeout: return "you were removed from the room for inactivity; join again to come back";
    case notice_event::room_closed: return room_closed_text(n.reason);
    case notice_event::server_shutdown: return "the server is shutting down";
    case notice_event::pong: return {};
    case notice_event::error:
      if (n.error == "too_long") return "your last message was too long; the server did not deliver it";
      return "the server refused your last message (" + n.error + ")";
    case notice_event::members: return {};  // the session keeps the list; /who shows it
    case notice_event::unknown: break;
  }
  return "server notice: " + n.event_name;
}

bool ends_session(libchat::notice_event e) noexcept {
  using libchat::notice_event;
  return e == notice_event::timeout || e == notice_event::room_closed || e == notice_event::server_shutdown;
}

}  // namespace chat_cli
