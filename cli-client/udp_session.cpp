#include "udp_session.hpp"

#include "commands.hpp"
#include "exit_codes.hpp"
#include "notice_text.hpp"
#include "roster_text.hpp"

#include <libchat/control.hpp>
#include <libchat/datagram.hpp>
#include <libchat/utf8.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>

#include <csignal>

namespace chat_cli {
namespace {

namespace asio = boost::asio;

libchat::client_session_config session_config(std::chrono::seconds keepalive) {
  libchat::client_session_config c;
  c.keepalive_interval = keepalive;
  return c;
}

libchat::time_point now() { return std::chrono::steady_clock::now(); }

// ICMP errors surface on a connected UDP socket as these; they say nothing the keepalives won't.
bool is_transient(const boost::system::error_code& ec) {
  return ec == asio::error::connection_refused || ec == asio::error::host_unreachable ||
         ec == asio::error::network_unreachable;
}

}  // namespace

udp_session::udp_session(asio::io_context& io, session_params params, frontend& view)
    : io_(io),
      params_(std::move(params)),
      view_(view),
      socket_(io),
      keepalive_timer_(io),
      signals_(io, SIGINT, SIGTERM, SIGHUP),
      session_(session_config(params_.keepalive), params_.info.room, params_.grant.token,
               std::move(params_.grant.channel)) {}

void udp_session::start() {
  boost::system::error_code ec;
  socket_.open(params_.grant.udp_endpoint.protocol(), ec);
  if (!ec) socket_.connect(params_.grant.udp_endpoint, ec);
  if (ec) {
    view_.info("cannot open a UDP socket to the server: " + ec.message());
    finish(close_reason::server_silent, exit_code::network, "cannot open a UDP socket: " + ec.message());
    return;
  }
  signals_.async_wait([this](boost::system::error_code wait_ec, int) {
    if (!wait_ec) leave();
  });
  start_receive();
  apply(session_.start(now()));  // the first keepalive binds our address at the server
  view_.start(*this);
}

bool udp_session::submit_line(std::string_view line) {
  if (finished_) return true;
  if (!params_.commands) {
    if (line.empty()) return true;
    return send_text(line);
  }
  parsed_line parsed = parse_line(line);
  switch (parsed.kind) {
    case line_kind::empty: return true;
    case line_kind::message: return send_text(parsed.text);
    case line_kind::quit: leave(); return true;
    case line_kind::help:
      for (std::string_view help : help_lines()) view_.info(help);
      return true;
    case line_kind::who: show_members(); return true;
    case line_kind::unknown: view_.info(parsed.text); return false;
  }
  return true;
}

void udp_session::end_of_input() {
  if (!finished_) leave();
}

// Refuses locally what the server would drop or refuse, so the user hears why at once.
bool udp_session::send_text(std::string_view text) {
  if (!libchat::is_valid_utf8(text)) {
    view_.refused("invalid_utf8", "the message is not valid UTF-8; not sent");
    return false;
  }
  if (static_cast<std::uint8_t>(text.front()) == libchat::control_marker) {
    view_.refused("invalid_text", "a message cannot start with a NUL byte; not sent");
    return false;
  }
  const std::size_t max_text = session_.max_text(params_.info.user);
  if (text.size() > max_text) {
    view_.refused("too_long", "the message is too long (" + std::to_string(text.size()) + " bytes, at most " +
                                  std::to_string(max_text) + "); not sent");
    return false;
  }
  if (!send_message(text)) return true;  // the session ended: nothing more to edit
  view_.own_message(text, std::chrono::system_clock::now());
  return true;
}

// Sends a datagram carrying `message` (empty: a keepalive), sealed when the session is
// encrypted. A failed send is not reported: UDP gives no promise anyway, and the keepalives tell
// when the server is really gone. Returns false only when the session's 64-bit counter is used
// up (keys update themselves every 2^26 datagrams, so no session gets there), which ends it.
bool udp_session::send_message(std::string_view message) {
  auto datagram = session_.seal(libchat::as_bytes(message));
  if (!datagram && datagram.error() == libchat::errc::key_limit) {
    finish(close_reason::key_limit, exit_code::ended_by_server,
           "this session has used every datagram counter; join the room again to go on");
    return false;
  }
  if (!datagram) return true;  // cannot happen: sizes were checked above and at the handshake
  boost::system::error_code ignored;
  socket_.send(asio::buffer(datagram->data(), datagram->size()), 0, ignored);
  return true;
}

void udp_session::leave() {
  if (finished_) return;
  if (!send_message(libchat::encode_control(libchat::control_type::leave))) return;
  finish(close_reason::left, exit_code::left, {});
}

void udp_session::finish(close_reason reason, int code, std::string why) {
  if (finished_) return;
  finished_ = true;
  exit_code_ = code;
  keepalive_timer_.cancel();
  boost::system::error_code ignored;
  signals_.cancel(ignored);
  socket_.close(ignored);
  view_.closed(reason, why);
  io_.stop();
}

// Carries out what the session decided, and re-arms the timer for its next deadline.
void udp_session::apply(const libchat::session_event& e) {
  using kind = libchat::session_event::kind;
  switch (e.what) {
    case kind::none:
    case kind::dropped: break;
    case kind::send_keepalive:
      if (!send_message({})) return;
      break;
    case kind::bound: view_.connected(params_.info); break;
    case kind::message:
      view_.message(e.sender, e.text, std::chrono::system_clock::now());
      break;
    case kind::notice: on_notice(e.received, e.notice_json); break;
    case kind::never_bound:
      return finish(close_reason::server_silent, exit_code::network,
                    "the server does not answer on UDP port " + std::to_string(params_.grant.udp_endpoint.port()));
    case kind::silent:
      return finish(close_reason::server_silent, exit_code::ended_by_server, "the server stopped answering");
  }
  if (!finished_) arm_timer();
}

void udp_session::arm_timer() {
  const auto deadline = session_.next_deadline();
  if (!deadline) {
    keepalive_timer_.cancel();
    armed_for_.reset();
    return;
  }
  if (armed_for_ == deadline) return;
  armed_for_ = deadline;
  // The generation tells a stale expiry (one that was already queued when the timer was re-armed)
  // from the current one.
  const std::uint64_t generation = ++timer_generation_;
  keepalive_timer_.expires_at(*deadline);
  keepalive_timer_.async_wait([this, generation](boost::system::error_code ec) {
    if (ec || generation != timer_generation_ || finished_) return;
    armed_for_.reset();
    apply(session_.on_timer(now()));
  });
}

void udp_session::start_receive() {
  socket_.async_receive(asio::buffer(receive_buffer_), [this](boost::system::error_code ec, std::size_t n) {
    if (finished_ || ec == asio::error::operation_aborted) return;
    if (ec && !is_transient(ec)) {
      finish(close_reason::server_silent, exit_code::network, "receiving from the server failed: " + ec.message());
      return;
    }
    if (!ec) apply(session_.on_datagram(libchat::byte_view(receive_buffer_.data(), n), now()));
    if (!finished_) start_receive();
  });
}

void udp_session::on_notice(const libchat::notice& n, std::string_view json) {
  using libchat::notice_event;
  switch (n.event) {
    case notice_event::pong: return;  // the session counted it
    case notice_event::error: view_.refused(n.error.empty() ? "error" : n.error, describe_notice(n)); return;
    case notice_event::timeout: return end_by_notice(close_reason::timeout, n, json);
    case notice_event::room_closed: return end_by_notice(close_reason::room_closed, n, json);
    case notice_event::server_shutdown: return end_by_notice(close_reason::server_shutdown, n, json);
    case notice_event::members: return on_members(n, json);
    case notice_event::joined:
    case notice_event::left:
      roster_.apply(n);
      view_.notice(n, json, std::chrono::system_clock::now());
      return;
    case notice_event::unknown: view_.notice(n, json, std::chrono::system_clock::now()); return;
  }
}

void udp_session::on_members(const libchat::notice& n, std::string_view json) {
  roster_.apply(n);
  view_.notice(n, json, std::chrono::system_clock::now());  // shown only by --json
  // People see the list once, when it is whole; /who shows it again at any time.
  if (params_.commands && roster_.complete() && !members_shown_) {
    members_shown_ = true;
    view_.info(members_summary(roster_, params_.info.user));
  }
}

void udp_session::show_members() {
  for (const std::string& line : who_lines(roster_, params_.info.user)) view_.info(line);
  if (roster_.complete()) return;
  // A part was lost (UDP): ask again. The server answers at most once a second.
  if (session_.bound()) send_message(libchat::encode_control(libchat::control_type::members));
}

void udp_session::end_by_notice(close_reason reason, const libchat::notice& n, std::string_view json) {
  view_.notice(n, json, std::chrono::system_clock::now());
  finish(reason, exit_code::ended_by_server, describe_notice(n));
}

}  // namespace chat_cli
