#include "libchat/client_session.hpp"

#include "libchat/datagram.hpp"
#include "libchat/utf8.hpp"

#include <algorithm>

namespace libchat {

client_session::client_session(const client_session_config& config, std::string room, std::string token,
                               std::unique_ptr<secure_channel> channel)
    : config_(config), room_(std::move(room)), token_(std::move(token)), channel_(std::move(channel)) {}

session_event client_session::start(time_point now) {
  unanswered_ = 1;
  deadline_ = now + config_.bind_interval;
  return {.what = session_event::kind::send_keepalive};
}

session_event client_session::on_timer(time_point now) {
  if (!deadline_ || now < *deadline_) return {};
  return keepalive_due(now);
}

session_event client_session::keepalive_due(time_point now) {
  const unsigned limit = bound_ ? config_.silent_after : config_.bind_attempts;
  if (unanswered_ >= limit) {
    deadline_.reset();
    return {.what = bound_ ? session_event::kind::silent : session_event::kind::never_bound};
  }
  ++unanswered_;
  deadline_ = now + (bound_ ? config_.keepalive_interval : config_.bind_interval);
  return {.what = session_event::kind::send_keepalive};
}

session_event client_session::drop() {
  ++dropped_;
  return {.what = session_event::kind::dropped};
}

session_event client_session::on_datagram(byte_view datagram, time_point now) {
  // Each datagram is checked, and a bad one is dropped and counted, never shown. Encrypted, it
  // must open first: a forged source address gets past a connected socket, but only the server
  // holds the key, and a captured datagram sent again fails the replay window.
  byte_view plain = datagram;
  if (channel_) {
    auto opened = channel_->open_server_datagram(datagram, opened_buffer_);
    if (!opened) return drop();
    plain = byte_view(opened_buffer_.data(), *opened);
  }
  auto decoded = decode_server_datagram(plain);
  if (!decoded) return drop();
  if (!decoded->is_notice()) {
    if (!is_valid_utf8(decoded->sender) || !is_valid_utf8(decoded->text)) return drop();
    return {.what = session_event::kind::message, .sender = decoded->sender, .text = as_text(decoded->text)};
  }
  const std::string_view json = as_text(decoded->text);
  auto parsed = parse_notice(json);
  if (!parsed) return drop();
  if (parsed->event == notice_event::pong) {
    unanswered_ = 0;
    if (bound_) return {};
    bound_ = true;
    deadline_ = now + config_.keepalive_interval;
    return {.what = session_event::kind::bound};
  }
  session_event e{.what = session_event::kind::notice, .notice_json = json};
  e.received = std::move(*parsed);
  if (e.received.event == notice_event::timeout || e.received.event == notice_event::room_closed ||
      e.received.event == notice_event::server_shutdown)
    deadline_.reset();  // the session is over: no more keepalives
  return e;
}

std::size_t client_session::max_text(std::string_view username) const noexcept {
  const std::size_t header =
      2 + room_.size() + (channel_ ? session_id_bytes + counter_bytes + aead_tag_bytes : token_.size());
  const std::size_t fits_client = max_client_datagram > header ? max_client_datagram - header : 0;
  return std::min(fits_client, max_text_bytes(username.size()));
}

boost::system::result<byte_view> client_session::seal(byte_view message) {
  auto size = channel_ ? channel_->seal_client_datagram(room_, message, send_buffer_)
                       : encode_client_datagram(room_, token_, message, send_buffer_);
  if (!size) return size.error();
  return byte_view(send_buffer_.data(), *size);
}

}  // namespace libchat
