#include "udp_session.hpp"

#include "commands.hpp"
#include "exit_codes.hpp"
#include "notice_text.hpp"

#include <libchat/control.hpp>
#include <libchat/datagram.hpp>
#include <libchat/utf8.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>

#include <algorithm>
#include <csignal>

namespace chat_cli {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr auto bind_retry_interval = 1s;
constexpr unsigned bind_attempts = 5;
constexpr unsigned silent_after = 3;  // unanswered keepalives in a row

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
      signals_(io, SIGINT, SIGTERM, SIGHUP) {
  // The longest text that fits both ways: into our datagram (after the two sizes, the room and
  // the token; sealed: the session id, the counter and the tag) and into the server's relay
  // datagram (after our name).
  const std::size_t header =
      2 + params_.info.room.size() +
      (params_.grant.channel ? libchat::session_id_bytes + libchat::counter_bytes + libchat::aead_tag_bytes
                             : params_.grant.token.size());
  const std::size_t fits_client = libchat::max_client_datagram > header ? libchat::max_client_datagram - header : 0;
  max_text_ = std::min(fits_client, libchat::max_text_bytes(params_.info.user.size()));
}

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
  on_keepalive_due();  // the first keepalive binds our address at the server
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
  if (text.size() > max_text_) {
    view_.refused("too_long", "the message is too long (" + std::to_string(text.size()) + " bytes, at most " +
                                  std::to_string(max_text_) + "); not sent");
    return false;
  }
  if (!send_message(text)) return true;  // the session ended: nothing more to edit
  view_.own_message(text, std::chrono::system_clock::now());
  return true;
}

// Sends a datagram carrying `message` (empty: a keepalive), sealed when the session is
// encrypted. A failed send is not reported: UDP gives no promise anyway, and the keepalives tell
// when the server is really gone. Returns false only when the session key is used up, which ends
// the session: the server would not open another datagram under it.
bool udp_session::send_message(std::string_view message) {
  const libchat::byte_view bytes = libchat::as_bytes(message);
  auto size = params_.grant.channel
                  ? params_.grant.channel->seal_client_datagram(params_.info.room, bytes, send_buffer_)
                  : libchat::encode_client_datagram(params_.info.room, params_.grant.token, bytes, send_buffer_);
  if (!size && size.error() == libchat::errc::key_limit) {
    finish(close_reason::key_limit, exit_code::ended_by_server,
           "this session has sent as many messages as one key may seal; join the room again to go on");
    return false;
  }
  if (!size) return true;  // cannot happen: sizes were checked above and at the handshake
  boost::system::error_code ignored;
  socket_.send(asio::buffer(send_buffer_.data(), *size), 0, ignored);
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

void udp_session::arm_keepalive(std::chrono::steady_clock::duration after) {
  // The generation tells a stale expiry (one that was already queued when the timer was re-armed)
  // from the current one.
  const std::uint64_t generation = ++timer_generation_;
  keepalive_timer_.expires_after(after);
  keepalive_timer_.async_wait([this, generation](boost::system::error_code ec) {
    if (!ec && generation == timer_generation_ && !finished_) on_keepalive_due();
  });
}

void udp_session::on_keepalive_due() {
  if (!bound_) {
    if (unanswered_ >= bind_attempts) {
      finish(close_reason::server_silent, exit_code::network,
             "the server does not answer on UDP port " + std::to_string(params_.grant.udp_endpoint.port()));
      return;
    }
    if (!send_message({})) return;
    ++unanswered_;
    arm_keepalive(bind_retry_interval);
    return;
  }
  if (unanswered_ >= silent_after) {
    finish(close_reason::server_silent, exit_code::ended_by_server, "the server stopped answering");
    return;
  }
  if (!send_message({})) return;
  ++unanswered_;
  arm_keepalive(params_.keepalive);
}

void udp_session::start_receive() {
  socket_.async_receive(asio::buffer(receive_buffer_), [this](boost::system::error_code ec, std::size_t n) {
    if (finished_ || ec == asio::error::operation_aborted) return;
    if (ec && !is_transient(ec)) {
      finish(close_reason::server_silent, exit_code::network, "receiving from the server failed: " + ec.message());
      return;
    }
    if (!ec) on_datagram(n);
    if (!finished_) start_receive();
  });
}

void udp_session::on_datagram(std::size_t size) {
  // The socket is connected, so the kernel delivers only the server's datagrams; still, each one
  // is checked, and a bad one is dropped and counted, never shown. Encrypted, it must open first:
  // a forged source address gets a datagram past the connected socket, but only the server holds
  // the key, and a captured datagram sent again fails the replay window.
  libchat::byte_view plain(receive_buffer_.data(), size);
  if (params_.grant.channel) {
    auto opened = params_.grant.channel->open_server_datagram(plain, opened_buffer_);
    if (!opened) {
      ++dropped_;
      return;
    }
    plain = libchat::byte_view(opened_buffer_.data(), *opened);
  }
  auto datagram = libchat::decode_server_datagram(plain);
  if (!datagram) {
    ++dropped_;
    return;
  }
  if (datagram->is_notice()) {
    on_notice(libchat::as_text(datagram->text));
    return;
  }
  if (!libchat::is_valid_utf8(datagram->sender) || !libchat::is_valid_utf8(datagram->text)) {
    ++dropped_;
    return;
  }
  view_.message(datagram->sender, libchat::as_text(datagram->text), std::chrono::system_clock::now());
}

void udp_session::on_notice(std::string_view json) {
  auto parsed = libchat::parse_notice(json);
  if (!parsed) {
    ++dropped_;
    return;
  }
  const libchat::notice& n = *parsed;
  using libchat::notice_event;
  switch (n.event) {
    case notice_event::pong:
      unanswered_ = 0;
      if (!bound_) {
        bound_ = true;
        view_.connected(params_.info);
        arm_keepalive(params_.keepalive);
      }
      return;
    case notice_event::error: view_.refused(n.error.empty() ? "error" : n.error, describe_notice(n)); return;
    case notice_event::timeout: return end_by_notice(close_reason::timeout, n, json);
    case notice_event::room_closed: return end_by_notice(close_reason::room_closed, n, json);
    case notice_event::server_shutdown: return end_by_notice(close_reason::server_shutdown, n, json);
    case notice_event::joined:
    case notice_event::left:
    case notice_event::unknown: view_.notice(n, json, std::chrono::system_clock::now()); return;
  }
}

void udp_session::end_by_notice(close_reason reason, const libchat::notice& n, std::string_view json) {
  view_.notice(n, json, std::chrono::system_clock::now());
  finish(reason, exit_code::ended_by_server, describe_notice(n));
}

}  // namespace chat_cli
