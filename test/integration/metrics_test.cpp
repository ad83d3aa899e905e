// The metrics endpoint (--metrics-listen) over a real TCP socket: what a scrape shows against the
// stats line after real traffic, the routes, and that slow, oversized or too many HTTP clients
// are cut off without touching a scrape or the relay.
#include "http_client.hpp"
#include "server_process.hpp"
#include "wire_client.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <thread>

using namespace chat_test;
using libchat::operation;
using steady = std::chrono::steady_clock;

namespace {

const std::vector<std::string> with_metrics{"--metrics-listen", "127.0.0.1:0"};

std::uint16_t metrics_port(const server_process& server) {
  REQUIRE(server.metrics_port());
  return *server.metrics_port();
}

std::map<std::string, double> scrape(const server_process& server) {
  const auto reply = http_request(metrics_port(server));
  REQUIRE(reply);
  REQUIRE(reply->status == 200);
  return parse_metrics(reply->body);
}

double at(const std::map<std::string, double>& m, const std::string& series) {
  INFO("series " << series);
  REQUIRE(m.count(series) == 1);
  return m.at(series);
}

/// The values of one labelled family, by label value: {"malformed": 1, …}.
std::map<std::string, double> family(const std::map<std::string, double>& m, const std::string& name,
                                     const std::string& label) {
  std::map<std::string, double> out;
  const std::string prefix = name + "{" + label + "=\"";
  for (const auto& [series, value] : m) {
    if (series.rfind(prefix, 0) == 0) out[series.substr(prefix.size(), series.size() - prefix.size() - 2)] = value;
  }
  return out;
}

double sum(const std::map<std::string, double>& values) {
  double total = 0;
  for (const auto& [label, value] : values) total += value;
  return total;
}

struct two_members {
  member alice, bob;
  explicit two_members(server_process& s)
      : alice(join_member(s.tcp_port(), s.udp_port(), operation::create_room, "lobby", "alice")),
        bob(join_member(s.tcp_port(), s.udp_port(), operation::join_room, "lobby", "bob")) {
    REQUIRE(alice.udp->receive_message()->second == R"({"event":"joined","user":"bob"})");
  }
  /// True if a message from alice reaches bob: the relay is working.
  bool relay_works(const std::string& text) {
    alice.say(text);
    const auto got = bob.udp->receive_message();
    return got && got->second == text;
  }
};

}  // namespace

TEST_CASE("a scrape shows every counter of the stats line, balanced", "[integration][metrics]") {
  server_process server(with_metrics);
  const auto port = metrics_port(server);
  CHECK(server.log().find("serving metrics at http://127.0.0.1:" + std::to_string(port) + "/metrics") !=
        std::string::npos);

  two_members room(server);
  REQUIRE(room.relay_works("hello"));
  udp_peer stranger(server.udp_port());
  stranger.send_raw({5});                              // malformed
  stranger.send("lobby", "not-a-token", "let me in");  // bad_token
  CHECK(stranger.silent());
  CHECK(handshake(server.tcp_port(), operation::create_room, "lobby", "mallory").error);  // room_exists
  CHECK(handshake(server.tcp_port(), operation::join_room, "nowhere", "mallory").error);  // room_not_found

  // The refused handshakes' connections linger until their clients close: wait for the gauge to
  // fall to 0, so that neither side of the comparison catches one in flight.
  auto stats = server.settled_stats();
  for (int i = 0; i < 40 && stats.at("handshakes") != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stats = server.settled_stats();
  }
  REQUIRE(stats.at("handshakes") == 0);
  auto reply = http_request(port);
  REQUIRE(reply);
  CHECK(reply->status == 200);
  CHECK(reply->headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8");
  const auto m = parse_metrics(reply->body);

  // Every plain counter and gauge of the stats line, under its metric name.
  const std::map<std::string, std::string> names{
      {"received", "chat_datagrams_received_total"},
      {"relayed", "chat_datagrams_relayed_total"},
      {"keepalive", "chat_datagrams_keepalive_total"},
      {"control", "chat_datagrams_control_total"},
      {"sent", "chat_datagrams_sent_total"},
      {"send_would_block", "chat_datagrams_send_would_block_total"},
      {"send_error", "chat_send_errors_total"},
      {"icmp_errors", "chat_icmp_errors_total"},
      {"kernel_drops", "chat_datagrams_kernel_dropped_total"},
      {"handler_heap", "chat_handler_heap_fallbacks_total"},
      {"rooms", "chat_rooms"},
      {"members", "chat_members"},
      {"handshakes", "chat_handshakes_in_progress"},
      {"hash_queue", "chat_hash_queue_depth"},
      {"hash_evicted", "chat_hash_evicted_total"},
      {"hash_cancelled", "chat_hash_cancelled_total"},
  };
  const auto dropped = family(m, "chat_datagrams_dropped_total", "reason");
  for (const auto& [key, value] : stats) {
    INFO("stats line key " << key);
    if (key == "dropped") {
      CHECK(sum(dropped) == static_cast<double>(value));
    } else if (names.count(key)) {
      CHECK(at(m, names.at(key)) == static_cast<double>(value));
    } else {
      // Not a plain counter: a drop reason (the stats line shows only those above zero).
      REQUIRE(dropped.count(key) == 1);
      CHECK(dropped.at(key) == static_cast<double>(value));
    }
  }
  // Every reason is served, zeros included, and the ones this test caused have their counts.
  CHECK(dropped.size() >= 20);
  CHECK(dropped.at("malformed") == 1);
  CHECK(dropped.at("bad_token") == 1);
  CHECK(dropped.at("replay") == 0);
  CHECK(at(m, "chat_datagrams_relayed_total") == 1);
  CHECK(at(m, "chat_datagrams_received_total") == at(m, "chat_datagrams_relayed_total") +
                                                      at(m, "chat_datagrams_keepalive_total") +
                                                      at(m, "chat_datagrams_control_total") + sum(dropped));

  // Handshakes: two let in and admitted, two refused; each timed from accept to its answer.
  const auto outcomes = family(m, "chat_handshakes_total", "outcome");
  CHECK(outcomes.at("created") == 1);
  CHECK(outcomes.at("joined") == 1);
  CHECK(outcomes.at("room_exists") == 1);
  CHECK(outcomes.at("room_not_found") == 1);
  CHECK(outcomes.at("server_busy") == 0);
  CHECK(sum(outcomes) == 4);
  const auto refusals = family(m, "chat_handshake_refusals_total", "refusal");
  CHECK(refusals.at("room_exists") == 1);
  CHECK(refusals.at("room_not_found") == 1);
  CHECK(refusals.at("hash_queue_full") == 0);
  CHECK(sum(refusals) == 2);
  CHECK(at(m, "chat_handshake_duration_seconds_count") == 4);
  CHECK(at(m, "chat_handshake_duration_seconds_sum") > 0);
  CHECK(at(m, "chat_handshake_duration_seconds_sum") < 4 * 5.0);
  // The buckets, in the order served: cumulative, ending with +Inf at the count.
  const std::regex bucket(R"re(chat_handshake_duration_seconds_bucket\{le="([^"]+)"\} (\d+))re");
  std::vector<std::pair<std::string, double>> buckets;
  for (std::sregex_iterator i(reply->body.begin(), reply->body.end(), bucket), end; i != end; ++i) {
    buckets.emplace_back((*i)[1], std::stod((*i)[2]));
  }
  REQUIRE(buckets.size() >= 2);
  for (std::size_t i = 1; i < buckets.size(); ++i) CHECK(buckets[i - 1].second <= buckets[i].second);
  CHECK(buckets.back() == std::pair<std::string, double>{"+Inf", 4});

  CHECK(at(m, "chat_handshakes_refusing") == 0);
  CHECK(at(m, "chat_rooms_limit") == 10000);
  CHECK(at(m, "chat_handshakes_in_progress_limit") == 256);
  CHECK(at(m, "chat_hash_queue_limit") == 32);
  const auto build = family(m, "chat_build_info", "version");
  REQUIRE(build.size() == 1);
  CHECK(build.begin()->second == 1);
  for (const auto* type :
       {"# TYPE chat_datagrams_received_total counter\n", "# TYPE chat_rooms gauge\n",
        "# TYPE chat_datagrams_dropped_total counter\n", "# TYPE chat_handshake_duration_seconds histogram\n",
        "# HELP chat_datagrams_received_total "}) {
    CHECK(reply->body.find(type) != std::string::npos);
  }
}

TEST_CASE("the endpoint serves GET and HEAD /metrics and nothing else", "[integration][metrics]") {
  server_process server(with_metrics);
  const auto port = metrics_port(server);
  for (const auto* target : {"/", "/metric", "/metrics/extra", "/favicon.ico"}) {
    INFO(target);
    auto r = http_request(port, target);
    REQUIRE(r);
    CHECK(r->status == 404);
  }
  for (const auto* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
    INFO(method);
    auto r = http_request(port, "/metrics", method);
    REQUIRE(r);
    CHECK(r->status == 405);
    CHECK(r->headers["allow"] == "GET, HEAD");
  }
  const auto with_query = http_request(port, "/metrics?name[]=chat_rooms");
  REQUIRE(with_query);
  CHECK(with_query->status == 200);
  auto head = http_request(port, "/metrics", "HEAD");
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(std::stoul(head->headers["content-length"]) > 1000);
  CHECK(head->body.empty());

  SECTION("keep-alive, for a bounded number of requests") {
    http_connection c(port);
    const std::string get = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    std::string hundred;
    for (int i = 0; i < 100; ++i) hundred += get;
    REQUIRE(c.send(hundred));  // pipelined: answered one after the other
    for (int i = 1; i <= 100; ++i) {
      INFO("response " << i);
      auto r = c.read_response();
      REQUIRE(r);
      CHECK(r->status == 200);
      CHECK((r->headers["connection"] == "close") == (i == 100));
    }
    CHECK(c.closed_within(std::chrono::seconds(2)));
  }
}

TEST_CASE("a slow metrics client delays neither a scrape nor the relay, and is cut at the deadline",
          "[integration][metrics]") {
  server_process server(with_metrics);
  const auto port = metrics_port(server);
  two_members room(server);

  const auto opened = steady::now();
  http_connection silent(port);
  http_connection half(port);
  REQUIRE(half.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  http_connection trickle(port);
  REQUIRE(trickle.send("GET /metrics HTTP/1.1\r\nX-Slow: "));

  const auto asked = steady::now();
  auto reply = http_request(port);
  REQUIRE(reply);
  CHECK(reply->status == 200);
  CHECK(steady::now() - asked < std::chrono::seconds(1));
  CHECK(room.relay_works("still here"));

  // One deadline for the whole request (5 s from accept): a byte every 200 ms does not extend it.
  std::map<std::string, steady::duration> closed_after;
  while (closed_after.size() < 3 && steady::now() - opened < std::chrono::seconds(8)) {
    if (!closed_after.count("trickle")) trickle.send("a");
    const std::pair<const char*, http_connection*> slow[] = {
        {"silent", &silent}, {"half", &half}, {"trickle", &trickle}};
    for (const auto& [name, c] : slow) {
      if (!closed_after.count(name) && c->closed_within(std::chrono::milliseconds(0))) {
        closed_after[name] = steady::now() - opened;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (const auto* name : {"silent", "half", "trickle"}) {
    INFO(name);
    REQUIRE(closed_after.count(name) == 1);
    CHECK(closed_after.at(name) > std::chrono::milliseconds(4500));
    CHECK(closed_after.at(name) < std::chrono::milliseconds(6500));
  }
  CHECK(room.relay_works("and still"));
  CHECK(scrape(server).size() > 50);
}

TEST_CASE("oversized, malformed and too many metrics requests are refused", "[integration][metrics]") {
  server_process server(with_metrics);
  const auto port = metrics_port(server);
  two_members room(server);

  const auto refused = [&](const std::string& request) {
    http_connection c(port);
    c.send(request);
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->headers["connection"] == "close");
    CHECK(c.closed_within(std::chrono::seconds(2)));
    return r->status;
  };
  CHECK(refused("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(16384, 'a') + "\r\n\r\n") == 431);
  CHECK(refused("POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'b')) ==
        413);
  CHECK(refused(
            "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n") ==
        413);
  CHECK(refused("NOT HTTP AT ALL\r\n\r\n") == 400);

  SECTION("past 16 connections at once, one more is closed at once; then scrapes work again") {
    std::vector<std::unique_ptr<http_connection>> idle;
    for (int i = 0; i < 16; ++i) idle.push_back(std::make_unique<http_connection>(port));
    http_connection one_more(port);
    CHECK(one_more.closed_within(std::chrono::seconds(2)));
    CHECK(room.relay_works("unaffected"));
    idle.clear();
    // The server sees those closes a moment later.
    std::optional<http_response> r;
    for (int i = 0; i < 20 && !(r = http_request(port)); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    REQUIRE(r);
    CHECK(r->status == 200);
  }
}

TEST_CASE("SIGTERM stops the server cleanly with metrics connections open", "[integration][metrics]") {
  server_process server(with_metrics);
  const auto port = metrics_port(server);
  http_connection silent(port);
  http_connection half(port);
  REQUIRE(half.send("GET /metrics HTTP/1.1\r\n"));
  http_connection kept(port);
  REQUIRE(kept.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  REQUIRE(kept.read_response());  // now idle between requests
  server.signal(SIGTERM);
  CHECK(server.wait_exit(std::chrono::seconds(3)) == 0);
}

TEST_CASE("metrics-listen may be set in a config file, and a bad value or a taken port stops the start",
          "[integration][metrics]") {
  SECTION("in a config file") {
    const auto path =
        std::filesystem::temp_directory_path() / ("chat-metrics-test-" + std::to_string(::getpid()) + ".conf");
    std::ofstream(path) << "metrics-listen = 127.0.0.1:0\n";
    server_process server({"--config", path.string()});
    std::filesystem::remove(path);
    CHECK(scrape(server).count("chat_rooms") == 1);
  }
  SECTION("not HOST:PORT") {
    for (const auto* value : {"9188", "127.0.0.1", "127.0.0.1:99999", "::1:9188", "127.0.0.1:x"}) {
      INFO(value);
      CHECK_THROWS_WITH(server_process({"--metrics-listen", value}), Catch::Contains("must be HOST:PORT"));
    }
  }
  SECTION("not an IP address") {
    CHECK_THROWS_WITH(server_process({"--metrics-listen", "localhost:9188"}), Catch::Contains("not an IP address"));
  }
  SECTION("a port another server holds") {
    server_process first(with_metrics);
    const std::string taken = "127.0.0.1:" + std::to_string(metrics_port(first));
    CHECK_THROWS_WITH(server_process({"--metrics-listen", taken}), Catch::Contains("cannot listen for metrics"));
  }
}
