#include "metrics_text.hpp"

#include <array>
#include <charconv>

namespace chat_server {

namespace {

void append_number(std::string& out, std::uint64_t v) {
  std::array<char, 24> digits{};
  const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), v).ptr;
  out.append(digits.data(), end);
}

// Fixed notation, as few digits as give the value back: "0.0005", "2.5", "5", never "5e-04"
// (both parse, but a bucket's le label is compared as a string across scrapes and tools).
void append_number(std::string& out, double v) {
  std::array<char, 64> digits{};
  const auto r = std::to_chars(digits.data(), digits.data() + digits.size(), v, std::chars_format::fixed);
  if (r.ec != std::errc{}) {
    out += "NaN";  // cannot happen for the finite values we render; never a half-written number
    return;
  }
  out.append(digits.data(), r.ptr);
}

// Label values may hold any UTF-8; the format escapes the backslash, the double quote and the
// line feed. HELP text escapes the backslash and the line feed only.
void append_escaped(std::string& out, std::string_view text, bool quote) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  append_escaped(out, help, false);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

template <class Number>
void sample(std::string& out, std::string_view name, Number value) {
  out += name;
  out += ' ';
  append_number(out, value);
  out += '\n';
}

template <class Number>
void sample(std::string& out, std::string_view name, std::string_view label, std::string_view label_value,
            Number value) {
  out += name;
  out += '{';
  out += label;
  out += "=\"";
  append_escaped(out, label_value, true);
  out += "\"} ";
  append_number(out, value);
  out += '\n';
}

void counter(std::string& out, std::string_view name, std::string_view help, std::uint64_t value) {
  family(out, name, "counter", help);
  sample(out, name, value);
}

void gauge(std::string& out, std::string_view name, std::string_view help, std::size_t value) {
  family(out, name, "gauge", help);
  sample(out, name, static_cast<std::uint64_t>(value));
}

void counter_family(std::string& out, std::string_view name, std::string_view help, std::string_view label,
                    const std::vector<labelled_count>& values) {
  family(out, name, "counter", help);
  for (const auto& v : values) sample(out, name, label, v.label, v.value);
}

void histogram(std::string& out, std::string_view name, std::string_view help, const histogram_snapshot& h) {
  family(out, name, "histogram", help);
  const std::string bucket = std::string(name) + "_bucket";
  // Buckets are cumulative in the format; _count is the +Inf bucket, so the two always agree.
  std::uint64_t cumulative = 0;
  std::string bound;
  for (std::size_t i = 0; i < h.upper_bounds.size(); ++i) {
    cumulative += i < h.counts.size() ? h.counts[i] : 0;
    bound.clear();
    append_number(bound, h.upper_bounds[i]);
    sample(out, bucket, "le", bound, cumulative);
  }
  for (std::size_t i = h.upper_bounds.size(); i < h.counts.size(); ++i) cumulative += h.counts[i];
  sample(out, bucket, "le", "+Inf", cumulative);
  sample(out, std::string(name) + "_sum", h.sum_seconds);
  sample(out, std::string(name) + "_count", cumulative);
}

}  // namespace

std::string render_metrics(const metrics_snapshot& s) {
  std::string out;
  out.reserve(8192);

  family(out, "chat_build_info", "gauge", "Always 1; the version label says which chat-server is running.");
  sample(out, "chat_build_info", "version", s.version, std::uint64_t{1});

  counter(out, "chat_datagrams_received_total", "Datagrams read from the chat socket.", s.received);
  counter(out, "chat_datagrams_relayed_total", "Chat messages relayed to their room.", s.relayed);
  counter(out, "chat_datagrams_keepalive_total", "Keepalives answered with pong.", s.keepalive);
  counter(out, "chat_datagrams_control_total", "Control messages handled (leave).", s.control);
  counter_family(out, "chat_datagrams_dropped_total",
                 "Datagrams dropped, by reason. received = relayed + keepalive + control + the sum of these.", "reason",
                 s.dropped);
  counter(out, "chat_datagrams_sent_total", "Datagrams sent: relayed copies, pongs and notices, the lobby's included.",
          s.sent);
  counter(out, "chat_datagrams_send_would_block_total", "Datagrams not sent because the socket's send buffer was full.",
          s.send_would_block);
  counter(out, "chat_send_errors_total", "Sends the kernel refused.", s.send_errors);
  counter(out, "chat_icmp_errors_total", "Delivery errors the kernel reported (ICMP, IP_RECVERR).", s.icmp_errors);
  counter(out, "chat_datagrams_kernel_dropped_total",
          "Datagrams the kernel dropped before the server read them (receive buffer full; not in received).",
          s.kernel_drops);
  counter(out, "chat_handler_heap_fallbacks_total",
          "Receive handlers that did not fit their preallocated memory and used the heap.", s.handler_heap_fallbacks);
  counter(out, "chat_hash_evicted_total",
          "Queued password hashes dropped (answered server_busy) to make room for a client with more hash budget left.",
          s.hash_evicted);
  counter(out, "chat_hash_cancelled_total", "Queued password hashes dropped unrun because their connection ended.",
          s.hash_cancelled);

  counter(out, "chat_lobby_datagrams_received_total", "Datagrams read from the lobby socket.", s.lobby_received);
  counter(out, "chat_lobby_datagrams_relayed_total", "Lobby messages relayed.", s.lobby_relayed);
  counter(out, "chat_lobby_datagrams_keepalive_total", "Lobby keepalives answered.", s.lobby_keepalive);
  counter(out, "chat_lobby_datagrams_dropped_total", "Lobby datagrams dropped.", s.lobby_dropped);

  counter_family(out, "chat_handshakes_total",
                 "Handshake connections by how they ended: created, joined, key_sent, the TCRP error code of a "
                 "refusal, abandoned (no answer: the client left or the deadline passed) or unanswered (closed "
                 "at once, far over the limits).",
                 "outcome", s.handshakes);
  counter_family(out, "chat_handshake_refusals_total",
                 "Refused handshakes by the server's reason (finer than the TCRP code).", "refusal", s.refusals);
  histogram(out, "chat_handshake_duration_seconds",
            "Seconds from accepting a handshake connection to its answer written, for handshakes let in.",
            s.handshake_duration);

  gauge(out, "chat_rooms", "Rooms open.", s.rooms);
  gauge(out, "chat_members", "Members in all rooms.", s.members);
  gauge(out, "chat_handshakes_in_progress", "Handshakes being served.", s.handshakes_in_progress);
  gauge(out, "chat_handshakes_refusing", "Connections being told server_busy or rate_limited.", s.handshakes_refusing);
  gauge(out, "chat_hash_queue_depth", "Password hashes waiting for a worker.", s.hash_queue);
  gauge(out, "chat_lobby_members", "Addresses in the lobby.", s.lobby_members);
  gauge(out, "chat_rooms_limit", "Rooms open at most (--max-rooms).", s.rooms_limit);
  gauge(out, "chat_handshakes_in_progress_limit", "Handshakes served at once at most (--max-handshakes).",
        s.handshakes_limit);
  gauge(out, "chat_hash_queue_limit", "Password hashes waiting at most (--hash-queue).", s.hash_queue_limit);
  return out;
}

}  // namespace chat_server
