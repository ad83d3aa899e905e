// chat-server's metrics text: the exposition format byte for byte for a fixed snapshot, the
// escaping of label values and HELP text, and the cumulative histogram buckets.
#include "metrics_text.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <sstream>

using chat_server::histogram_snapshot;
using chat_server::metrics_snapshot;
using chat_server::render_metrics;

namespace {

metrics_snapshot fixed_snapshot() {
  metrics_snapshot s;
  s.version = "0.1.0";
  s.received = 12;
  s.relayed = 5;
  s.keepalive = 3;
  s.control = 1;
  s.dropped = {{"malformed", 2}, {"bad_token", 1}, {"replay", 0}};
  s.sent = 20;
  s.send_would_block = 1;
  s.send_errors = 2;
  s.icmp_errors = 3;
  s.kernel_drops = 4;
  s.handler_heap_fallbacks = 5;
  s.hash_evicted = 7;
  s.hash_cancelled = 8;
  s.lobby_received = 6;
  s.lobby_relayed = 4;
  s.lobby_keepalive = 1;
  s.lobby_dropped = 1;
  s.handshakes = {{"created", 2}, {"joined", 3}, {"server_busy", 1}};
  s.refusals = {{"hash_queue_full", 1}};
  s.handshake_duration = {{0.001, 0.25, 2.5}, {1, 3, 0, 2}, 7.5};
  s.rooms = 1;
  s.members = 2;
  s.handshakes_in_progress = 3;
  s.handshakes_refusing = 4;
  s.hash_queue = 5;
  s.lobby_members = 6;
  s.rooms_limit = 100;
  s.handshakes_limit = 256;
  s.hash_queue_limit = 32;
  return s;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

/// The sample lines of one series family (name, or name_bucket…), in order.
std::vector<std::string> samples_of(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& line : lines_of(text)) {
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  }
  return out;
}

}  // namespace

TEST_CASE("the exposition text of a fixed snapshot, byte for byte", "[server][metrics]") {
  // Families in a fixed order, each with # HELP, then # TYPE, then its samples; counters end in
  // _total; labelled families keep the snapshot's order; the histogram's buckets are cumulative.
  const std::string expected = R"(# HELP chat_build_info Always 1; the version label says which chat-server is running.
# TYPE chat_build_info gauge
chat_build_info{version="0.1.0"} 1
# HELP chat_datagrams_received_total Datagrams read from the chat socket.
# TYPE chat_datagrams_received_total counter
chat_datagrams_received_total 12
# HELP chat_datagrams_relayed_total Chat messages relayed to their room.
# TYPE chat_datagrams_relayed_total counter
chat_datagrams_relayed_total 5
# HELP chat_datagrams_keepalive_total Keepalives answered with pong.
# TYPE chat_datagrams_keepalive_total counter
chat_datagrams_keepalive_total 3
# HELP chat_datagrams_control_total Control messages handled (leave).
# TYPE chat_datagrams_control_total counter
chat_datagrams_control_total 1
# HELP chat_datagrams_dropped_total Datagrams dropped, by reason. received = relayed + keepalive + control + the sum of these.
# TYPE chat_datagrams_dropped_total counter
chat_datagrams_dropped_total{reason="malformed"} 2
chat_datagrams_dropped_total{reason="bad_token"} 1
chat_datagrams_dropped_total{reason="replay"} 0
# HELP chat_datagrams_sent_total Datagrams sent: relayed copies, pongs and notices, the lobby's included.
# TYPE chat_datagrams_sent_total counter
chat_datagrams_sent_total 20
# HELP chat_datagrams_send_would_block_total Datagrams not sent because the socket's send buffer was full.
# TYPE chat_datagrams_send_would_block_total counter
chat_datagrams_send_would_block_total 1
# HELP chat_send_errors_total Sends the kernel refused.
# TYPE chat_send_errors_total counter
chat_send_errors_total 2
# HELP chat_icmp_errors_total Delivery errors the kernel reported (ICMP, IP_RECVERR).
# TYPE chat_icmp_errors_total counter
chat_icmp_errors_total 3
# HELP chat_datagrams_kernel_dropped_total Datagrams the kernel dropped before the server read them (receive buffer full; not in received).
# TYPE chat_datagrams_kernel_dropped_total counter
chat_datagrams_kernel_dropped_total 4
# HELP chat_handler_heap_fallbacks_total Receive handlers that did not fit their preallocated memory and used the heap.
# TYPE chat_handler_heap_fallbacks_total counter
chat_handler_heap_fallbacks_total 5
# HELP chat_hash_evicted_total Queued password hashes dropped (answered server_busy) to make room for a client with more hash budget left.
# TYPE chat_hash_evicted_total counter
chat_hash_evicted_total 7
# HELP chat_hash_cancelled_total Queued password hashes dropped unrun because their connection ended.
# TYPE chat_hash_cancelled_total counter
chat_hash_cancelled_total 8
# HELP chat_lobby_datagrams_received_total Datagrams read from the lobby socket.
# TYPE chat_lobby_datagrams_received_total counter
chat_lobby_datagrams_received_total 6
# HELP chat_lobby_datagrams_relayed_total Lobby messages relayed.
# TYPE chat_lobby_datagrams_relayed_total counter
chat_lobby_datagrams_relayed_total 4
# HELP chat_lobby_datagrams_keepalive_total Lobby keepalives answered.
# TYPE chat_lobby_datagrams_keepalive_total counter
chat_lobby_datagrams_keepalive_total 1
# HELP chat_lobby_datagrams_dropped_total Lobby datagrams dropped.
# TYPE chat_lobby_datagrams_dropped_total counter
chat_lobby_datagrams_dropped_total 1
# HELP chat_handshakes_total Handshake connections by how they ended: created, joined, key_sent, the TCRP error code of a refusal, abandoned (no answer: the client left or the deadline passed) or unanswered (closed at once, far over the limits).
# TYPE chat_handshakes_total counter
chat_handshakes_total{outcome="created"} 2
chat_handshakes_total{outcome="joined"} 3
chat_handshakes_total{outcome="server_busy"} 1
# HELP chat_handshake_refusals_total Refused handshakes by the server's reason (finer than the TCRP code).
# TYPE chat_handshake_refusals_total counter
chat_handshake_refusals_total{refusal="hash_queue_full"} 1
# HELP chat_handshake_duration_seconds Seconds from accepting a handshake connection to its answer written, for handshakes let in.
# TYPE chat_handshake_duration_seconds histogram
chat_handshake_duration_seconds_bucket{le="0.001"} 1
chat_handshake_duration_seconds_bucket{le="0.25"} 4
chat_handshake_duration_seconds_bucket{le="2.5"} 4
chat_handshake_duration_seconds_bucket{le="+Inf"} 6
chat_handshake_duration_seconds_sum 7.5
chat_handshake_duration_seconds_count 6
# HELP chat_rooms Rooms open.
# TYPE chat_rooms gauge
chat_rooms 1
# HELP chat_members Members in all rooms.
# TYPE chat_members gauge
chat_members 2
# HELP chat_handshakes_in_progress Handshakes being served.
# TYPE chat_handshakes_in_progress gauge
chat_handshakes_in_progress 3
# HELP chat_handshakes_refusing Connections being told server_busy or rate_limited.
# TYPE chat_handshakes_refusing gauge
chat_handshakes_refusing 4
# HELP chat_hash_queue_depth Password hashes waiting for a worker.
# TYPE chat_hash_queue_depth gauge
chat_hash_queue_depth 5
# HELP chat_lobby_members Addresses in the lobby.
# TYPE chat_lobby_members gauge
chat_lobby_members 6
# HELP chat_rooms_limit Rooms open at most (--max-rooms).
# TYPE chat_rooms_limit gauge
chat_rooms_limit 100
# HELP chat_handshakes_in_progress_limit Handshakes served at once at most (--max-handshakes).
# TYPE chat_handshakes_in_progress_limit gauge
chat_handshakes_in_progress_limit 256
# HELP chat_hash_queue_limit Password hashes waiting at most (--hash-queue).
# TYPE chat_hash_queue_limit gauge
chat_hash_queue_limit 32
)";
  CHECK(render_metrics(fixed_snapshot()) == expected);
}

TEST_CASE("label values and HELP text are escaped as the format says", "[server][metrics]") {
  metrics_snapshot s;
  s.version = "1.0 \"beta\"\\x\nnext";
  s.dropped = {{"quote\"and\\backslash", 7}};
  const auto text = render_metrics(s);
  CHECK(samples_of(text, "chat_build_info{") ==
        std::vector<std::string>{R"(chat_build_info{version="1.0 \"beta\"\\x\nnext"} 1)"});
  CHECK(samples_of(text, "chat_datagrams_dropped_total{") ==
        std::vector<std::string>{R"(chat_datagrams_dropped_total{reason="quote\"and\\backslash"} 7)"});
  // No raw line feed escaped into a new line: every line is a comment or a whole sample.
  for (const auto& line : lines_of(text)) {
    INFO(line);
    CHECK((line.rfind("# HELP chat_", 0) == 0 || line.rfind("# TYPE chat_", 0) == 0 || line.rfind("chat_", 0) == 0));
  }
}

TEST_CASE("histogram buckets are cumulative and end with +Inf at the count", "[server][metrics]") {
  metrics_snapshot s;
  SECTION("observations above every bound land in +Inf only") {
    s.handshake_duration = {{0.0005, 10}, {0, 0, 4}, 123.25};
    const auto text = render_metrics(s);
    CHECK(samples_of(text, "chat_handshake_duration_seconds_") ==
          std::vector<std::string>{R"(chat_handshake_duration_seconds_bucket{le="0.0005"} 0)",
                                   R"(chat_handshake_duration_seconds_bucket{le="10"} 0)",
                                   R"(chat_handshake_duration_seconds_bucket{le="+Inf"} 4)",
                                   "chat_handshake_duration_seconds_sum 123.25",
                                   "chat_handshake_duration_seconds_count 4"});
  }
  SECTION("each bucket counts everything at or below its bound") {
    s.handshake_duration = {{0.001, 0.01, 0.1}, {5, 0, 2, 1}, 0.1234};
    const auto text = render_metrics(s);
    CHECK(samples_of(text, "chat_handshake_duration_seconds_") ==
          std::vector<std::string>{R"(chat_handshake_duration_seconds_bucket{le="0.001"} 5)",
                                   R"(chat_handshake_duration_seconds_bucket{le="0.01"} 5)",
                                   R"(chat_handshake_duration_seconds_bucket{le="0.1"} 7)",
                                   R"(chat_handshake_duration_seconds_bucket{le="+Inf"} 8)",
                                   "chat_handshake_duration_seconds_sum 0.1234",
                                   "chat_handshake_duration_seconds_count 8"});
  }
  SECTION("no observations yet") {
    s.handshake_duration = {{1}, {0, 0}, 0};
    CHECK(samples_of(render_metrics(s), "chat_handshake_duration_seconds_") ==
          std::vector<std::string>{R"(chat_handshake_duration_seconds_bucket{le="1"} 0)",
                                   R"(chat_handshake_duration_seconds_bucket{le="+Inf"} 0)",
                                   "chat_handshake_duration_seconds_sum 0", "chat_handshake_duration_seconds_count 0"});
  }
}

TEST_CASE("every family is declared once, before its samples, even with no samples", "[server][metrics]") {
  const auto text = render_metrics(metrics_snapshot{});
  REQUIRE(!text.empty());
  CHECK(text.back() == '\n');
  std::set<std::string> declared;
  std::string current;
  for (const auto& line : lines_of(text)) {
    INFO(line);
    if (line.rfind("# HELP ", 0) == 0) {
      current = line.substr(7, line.find(' ', 7) - 7);
      CHECK(declared.insert(current).second);
    } else if (line.rfind("# TYPE ", 0) == 0) {
      CHECK(line.substr(7, current.size() + 1) == current + " ");
    } else {
      // A sample of the family just declared (a histogram's series add _bucket, _sum, _count).
      CHECK(line.rfind(current, 0) == 0);
    }
  }
  // Families with labels are declared though the snapshot has no sample of them.
  for (const auto* name : {"chat_datagrams_dropped_total", "chat_handshakes_total", "chat_handshake_refusals_total"}) {
    CHECK(declared.count(name) == 1);
  }
  CHECK(text.find("# TYPE chat_handshake_duration_seconds histogram\n") != std::string::npos);
}
