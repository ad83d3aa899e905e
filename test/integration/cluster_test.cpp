// Cluster mode for real (issue 11): a nats-server with JetStream on loopback, three chat-server
// nodes on 127.0.0.1, .2 and .3 sharing one key, and chat-client in --json mode talking to
// whichever node the test picks, as users behind a round-robin name would.

#include "client_process.hpp"
#include "nats_process.hpp"
#include "server_process.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace chat_test;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr const char* node_timeout = "2";

class test_cluster {
 public:
  /// `nodes` nodes on one nats-server.
  explicit test_cluster(std::size_t nodes, std::vector<std::string> extra = {}) : extra_(std::move(extra)) {
    nats_.push_back(std::make_unique<nats_process>());
    start(std::vector<std::string>(nodes, nats_.front()->url()));
  }
  /// One node per entry of `node_urls` (its --cluster), on the NATS servers given.
  test_cluster(std::vector<std::unique_ptr<nats_process>> nats, const std::vector<std::string>& node_urls,
               std::vector<std::string> extra)
      : nats_(std::move(nats)), extra_(std::move(extra)) {
    start(node_urls);
  }
  ~test_cluster() {
    nodes_.clear();
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  nats_process& nats(std::size_t i = 0) { return *nats_.at(i); }
  server_process& node(std::size_t i) { return *nodes_.at(i); }
  /// "127.0.0.N:PORT" of node i (N = i + 1), as chat-client's --server takes it.
  std::string address(std::size_t i) {
    return "127.0.0." + std::to_string(i + 1) + ":" + std::to_string(node(i).tcp_port());
  }
  /// chat-client --json through node i; its known-servers file is the test's own.
  std::unique_ptr<json_client> client(std::size_t i, std::vector<std::string> args) {
    const bool plaintext = std::find(args.begin(), args.end(), "--insecure") != args.end();
    if (!plaintext) args.insert(args.begin(), {"--known-servers", directory_ + "/known_servers"});
    args.insert(args.begin(), {"--server", address(i)});
    return std::make_unique<json_client>(args);
  }
  void kill_node(std::size_t i) { node(i).kill_hard(); }

 private:
  void start(const std::vector<std::string>& node_urls) {
    char dir[] = "/tmp/chat-cluster-test-XXXXXX";
    if (!::mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
    directory_ = dir;
    for (std::size_t i = 0; i < node_urls.size(); ++i) nodes_.push_back(start_node(i, node_urls[i]));
  }

  std::unique_ptr<server_process> start_node(std::size_t i, const std::string& urls) {
    const std::string n = std::to_string(i + 1);
    std::vector<std::string> args{"--bind",   "127.0.0." + n,   "--cluster",  urls,         "--node-name",
                                  "node" + n, "--node-timeout", node_timeout, "--key-file", directory_ + "/server.key"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    auto node = std::make_unique<server_process>(args);
    if (!node->wait_for_log("room directory ready", 20s))
      throw std::runtime_error("node " + n + " did not open the room directory:\n" + node->log());
    return node;
  }

  std::vector<std::unique_ptr<nats_process>> nats_;
  std::vector<std::string> extra_;
  std::string directory_;
  std::vector<std::unique_ptr<server_process>> nodes_;
};

bool has(const std::optional<std::string>& line, const std::string& text) {
  return line && line->find(text) != std::string::npos;
}

/// The client's first answer: "connected", or its error line.
std::optional<std::string> outcome(json_client& c) {
  for (;;) {
    auto line = c.next_line(6s);
    if (!line || has(line, R"("type":"connected")") || has(line, R"("type":"error")")) return line;
  }
}

/// The first answer of a client started for it, as text ("(no answer)" when there was none).
std::string first_answer(std::unique_ptr<json_client> c) {
  auto line = outcome(*c);
  return line ? *line : std::string("(no answer)");
}

/// Starts clients with `start` until one connects or `within` passes; that client (still in the
/// room) and its first answer, or the last refusal.
template <typename Start>
std::pair<std::unique_ptr<json_client>, std::string> until_connected(Start start, std::chrono::milliseconds within) {
  const auto until = clock_type::now() + within;
  for (;;) {
    auto client = start();
    auto line = outcome(*client);
    if (has(line, R"("type":"connected")") || clock_type::now() >= until)
      return {std::move(client), line.value_or("(no answer)")};
    std::this_thread::sleep_for(250ms);
  }
}

/// What a test's message looks like in chat-client's JSON.
std::string message_from(const std::string& who, const std::string& text) {
  return R"("from":")" + who + R"(","text":")" + text + R"(")";
}

}  // namespace

TEST_CASE("a room created through one node is joined and used through the two others", "[cluster]") {
  test_cluster cluster(3);
  for (const bool encrypted : {true, false}) {
    INFO((encrypted ? "encrypted" : "plaintext"));
    const std::string room = encrypted ? "sealed-room" : "plain-room";
    std::vector<std::string> plain = encrypted ? std::vector<std::string>{} : std::vector<std::string>{"--insecure"};
    const auto args = [&](std::vector<std::string> a) {
      a.insert(a.end(), plain.begin(), plain.end());
      return a;
    };
    auto alice = cluster.client(0, args({"--create", room, "--name", "alice"}));
    const auto created = outcome(*alice);
    INFO(created.value_or("(no answer)"));
    REQUIRE(has(created, R"("host":true)"));
    auto bob = cluster.client(1, args({"--join", room, "--name", "bob"}));
    REQUIRE(has(outcome(*bob), R"("type":"connected")"));
    auto carol = cluster.client(2, args({"--join", room, "--name", "carol"}));
    REQUIRE(has(outcome(*carol), R"("type":"connected")"));
    CHECK(alice->wait_for(R"("event":"joined","user":"carol")"));

    // Everyone hears everyone, byte for byte, whichever node they came through.
    const std::string from_alice = "hello from node 1 ✓ \\\"quoted\\\"", from_bob = "bob via node 2: ünïcode 💬",
                      from_carol = "carol via node 3";
    alice->send_line("hello from node 1 ✓ \"quoted\"");
    CHECK(has(bob->wait_for(R"("type":"message")"), message_from("alice", from_alice)));
    CHECK(has(carol->wait_for(R"("type":"message")"), message_from("alice", from_alice)));
    bob->send_line("bob via node 2: ünïcode 💬");
    CHECK(has(alice->wait_for(R"("type":"message")"), message_from("bob", from_bob)));
    CHECK(has(carol->wait_for(R"("type":"message")"), message_from("bob", from_bob)));
    carol->send_line(from_carol);
    CHECK(has(alice->wait_for(R"("type":"message")"), message_from("carol", from_carol)));
    CHECK(has(bob->wait_for(R"("type":"message")"), message_from("carol", from_carol)));

    // The home node issued every token and relayed every datagram: nothing crossed nodes.
    CHECK(cluster.node(0).log().find("room '" + room + "': token issued to 'bob'") != std::string::npos);
    CHECK(cluster.node(0).log().find("room '" + room + "': token issued to 'carol'") != std::string::npos);
    alice->close_stdin();
    CHECK(bob->wait_for(R"("event":"room_closed")"));
    CHECK(carol->wait_for(R"("event":"room_closed")"));
  }
  const auto home = cluster.node(0).settled_stats();
  const auto front = cluster.node(1).settled_stats();
  CHECK(home.at("relayed") >= 6);
  CHECK(front.at("received") == 0);
  CHECK(cluster.node(2).settled_stats().at("received") == 0);
}

TEST_CASE("names, passwords and room limits hold across nodes", "[cluster]") {
  test_cluster cluster(3, {"--max-members", "2"});
  ::setenv("CLUSTER_TEST_PASSWORD", "s3cret", 1);
  ::setenv("CLUSTER_TEST_WRONG", "guess", 1);
  auto alice = cluster.client(0, {"--create", "den", "--name", "alice", "--password-env", "CLUSTER_TEST_PASSWORD"});
  REQUIRE(has(outcome(*alice), R"("type":"connected")"));

  const auto refused = [&](std::size_t node, std::vector<std::string> args) {
    return first_answer(cluster.client(node, std::move(args)));
  };
  // room_exists through another node.
  CHECK_THAT(refused(1, {"--create", "den", "--name", "mallory"}), Catch::Contains(R"("error":"room_exists")"));
  // The password is the home node's to check, from any node.
  CHECK_THAT(refused(2, {"--join", "den", "--name", "mallory"}), Catch::Contains(R"("error":"bad_password")"));
  CHECK_THAT(refused(1, {"--join", "den", "--name", "mallory", "--password-env", "CLUSTER_TEST_WRONG"}),
             Catch::Contains(R"("error":"bad_password")"));
  // name_taken, then a right join, then room_full (--max-members 2), each through another node.
  CHECK_THAT(refused(2, {"--join", "den", "--name", "alice", "--password-env", "CLUSTER_TEST_PASSWORD"}),
             Catch::Contains(R"("error":"name_taken")"));
  auto bob = cluster.client(1, {"--join", "den", "--name", "bob", "--password-env", "CLUSTER_TEST_PASSWORD"});
  REQUIRE(has(outcome(*bob), R"("type":"connected")"));
  CHECK_THAT(refused(2, {"--join", "den", "--name", "carol", "--password-env", "CLUSTER_TEST_PASSWORD"}),
             Catch::Contains(R"("error":"room_full")"));
  // A room nobody created is not found from any node.
  CHECK_THAT(refused(2, {"--join", "nowhere", "--name", "carol"}), Catch::Contains(R"("error":"room_not_found")"));
  bob->send_line("in the den");
  CHECK(has(alice->wait_for(R"("type":"message")"), message_from("bob", "in the den")));
}

TEST_CASE("when the host leaves, everyone is told and the name is free on every node", "[cluster]") {
  test_cluster cluster(3);
  auto alice = cluster.client(0, {"--create", "brief", "--name", "alice"});
  REQUIRE(has(outcome(*alice), R"("type":"connected")"));
  auto bob = cluster.client(1, {"--join", "brief", "--name", "bob"});
  REQUIRE(has(outcome(*bob), R"("type":"connected")"));
  alice->close_stdin();
  CHECK(alice->wait_exit() == 0);
  CHECK(has(bob->wait_for(R"("event":"room_closed")"), R"("reason":"host_left")"));
  // The name is freed as the room closes; a create a moment later through node 3 takes it.
  auto carol = until_connected([&] { return cluster.client(2, {"--create", "brief", "--name", "carol"}); }, 2s);
  CHECK_THAT(carol.second, Catch::Contains(R"("host":true)"));
}

TEST_CASE("a killed node's names are free within the node timeout and other rooms miss nothing", "[cluster]") {
  test_cluster cluster(3);
  auto alice = cluster.client(0, {"--create", "stays", "--name", "alice"});
  REQUIRE(has(outcome(*alice), R"("type":"connected")"));
  auto bob = cluster.client(2, {"--join", "stays", "--name", "bob"});
  REQUIRE(has(outcome(*bob), R"("type":"connected")"));
  auto doomed = cluster.client(1, {"--create", "doomed", "--name", "dora"});
  REQUIRE(has(outcome(*doomed), R"("type":"connected")"));
  CHECK_THAT(first_answer(cluster.client(2, {"--create", "doomed", "--name", "x"})),
             Catch::Contains(R"("error":"room_exists")"));

  const auto killed = clock_type::now();
  cluster.kill_node(1);
  // Meanwhile alice talks to bob (node 1 → node 3's member, relayed by node 1) ten times a second.
  std::atomic<bool> talking{true};
  int sent = 0;
  std::thread talk([&] {
    while (talking.load()) {
      alice->send_line("tick " + std::to_string(sent++));
      std::this_thread::sleep_for(100ms);
    }
  });
  const auto erin = until_connected([&] { return cluster.client(2, {"--create", "doomed", "--name", "erin"}); }, 10s);
  const bool freed = erin.second.find(R"("type":"connected")") != std::string::npos;
  const double freed_after = freed ? std::chrono::duration<double>(clock_type::now() - killed).count() : -1;
  const std::optional<std::string> line = erin.second;
  talking.store(false);
  talk.join();
  WARN("cluster: a killed node's room name was free again after " << freed_after << " s (--node-timeout "
                                                                  << node_timeout << ")");
  INFO("freed after " << freed_after << " s; last answer: " << line.value_or("(none)"));
  CHECK(freed_after > 0);
  CHECK(freed_after <= std::atof(node_timeout) + 2.0);
  // Every tick reached bob, in order.
  int heard = 0;
  for (int i = 0; i < sent; ++i)
    if (has(bob->wait_for(R"("type":"message")", 2s), message_from("alice", "tick " + std::to_string(i)))) ++heard;
  INFO("bob heard " << heard << " of " << sent << " ticks");
  CHECK(heard == sent);
}

TEST_CASE("while NATS is down nodes answer server_busy and keep relaying, then they come back", "[cluster]") {
  test_cluster cluster(2);
  auto alice = cluster.client(0, {"--create", "steady", "--name", "alice"});
  REQUIRE(has(outcome(*alice), R"("type":"connected")"));
  auto bob = cluster.client(1, {"--join", "steady", "--name", "bob"});
  REQUIRE(has(outcome(*bob), R"("type":"connected")"));

  cluster.nats().kill_hard();
  REQUIRE(cluster.node(0).wait_for_log("lost the NATS connection", 5s));
  REQUIRE(cluster.node(1).wait_for_log("lost the NATS connection", 5s));
  // No directory, no answer that could make a name exist twice: server_busy, from either node.
  CHECK_THAT(first_answer(cluster.client(1, {"--create", "meanwhile", "--name", "carol"})),
             Catch::Contains(R"("error":"server_busy")"));
  CHECK_THAT(first_answer(cluster.client(0, {"--join", "steady", "--name", "carol"})),
             Catch::Contains(R"("error":"server_busy")"));
  // The room itself goes on.
  alice->send_line("still here");
  CHECK(has(bob->wait_for(R"("type":"message")"), message_from("alice", "still here")));

  cluster.nats().restart();
  CHECK(cluster.node(0).wait_for_log("reconnected to NATS", 10s));
  CHECK(cluster.node(1).wait_for_log("reconnected to NATS", 10s));
  auto carol = until_connected([&] { return cluster.client(1, {"--create", "after", "--name", "carol"}); }, 10s);
  CHECK_THAT(carol.second, Catch::Contains(R"("host":true)"));
  // The directory kept the room through the restart: it is still taken, and still joinable.
  CHECK_THAT(first_answer(cluster.client(1, {"--create", "steady", "--name", "x"})),
             Catch::Contains(R"("error":"room_exists")"));
  auto dave = cluster.client(1, {"--join", "steady", "--name", "dave"});
  CHECK(has(outcome(*dave), R"("type":"connected")"));
  bob->send_line("after the restart");
  CHECK(has(alice->wait_for(R"("type":"message")"), message_from("bob", "after the restart")));
}

TEST_CASE(
    "a three-server NATS cluster loses one server: the service goes on, and a node cut off gives up a room "
    "whose name was taken meanwhile",
    "[cluster]") {
  // NATS servers A, B and C, routed to each other; node 1 reaches only A, nodes 2 and 3 reach B and C.
  const std::array<std::uint16_t, 3> routes{free_tcp_port(), free_tcp_port(), free_tcp_port()};
  std::vector<std::unique_ptr<nats_process>> nats;
  for (std::size_t i = 0; i < 3; ++i) {
    std::vector<std::uint16_t> others;
    for (std::size_t j = 0; j < 3; ++j)
      if (j != i) others.push_back(routes[j]);
    nats.push_back(
        std::make_unique<nats_process>(routes[i], others, "nats-" + std::string(1, static_cast<char>('a' + i))));
  }
  const std::string a = nats[0]->url(), b = nats[1]->url(), c = nats[2]->url();
  test_cluster cluster(std::move(nats), {a, b + "," + c, c + "," + b}, {"--cluster-replicas", "3"});

  auto alice = cluster.client(0, {"--create", "island", "--name", "alice"});
  REQUIRE(has(outcome(*alice), R"("type":"connected")"));
  auto bob = cluster.client(0, {"--join", "island", "--name", "bob"});
  REQUIRE(has(outcome(*bob), R"("type":"connected")"));
  auto carol = cluster.client(1, {"--create", "mainland", "--name", "carol"});
  REQUIRE(has(outcome(*carol), R"("type":"connected")"));
  auto dave = cluster.client(2, {"--join", "mainland", "--name", "dave"});
  REQUIRE(has(outcome(*dave), R"("type":"connected")"));

  // A dies: node 1 is cut off; B and C keep the directory's quorum.
  cluster.nats(0).kill_hard();
  REQUIRE(cluster.node(0).wait_for_log("lost the NATS connection", 5s));
  carol->send_line("the mainland goes on");
  CHECK(has(dave->wait_for(R"("type":"message")"), message_from("carol", "the mainland goes on")));
  auto fresh = until_connected([&] { return cluster.client(1, {"--create", "fresh", "--name", "erin"}); }, 15s);
  CHECK_THAT(fresh.second, Catch::Contains(R"("host":true)"));
  // Node 1 is unheard: after the node timeout its names are free, and node 3 takes "island".
  auto frank = until_connected([&] { return cluster.client(2, {"--create", "island", "--name", "frank"}); }, 15s);
  REQUIRE_THAT(frank.second, Catch::Contains(R"("host":true)"));

  // A comes back: node 1 finds its room's name held by node 3 and gives its room up.
  cluster.nats(0).restart();
  CHECK(cluster.node(0).wait_for_log("reconnected to NATS", 15s));
  CHECK(has(alice->wait_for(R"("event":"server_shutdown")", 20s), "server_shutdown"));
  CHECK(has(bob->wait_for(R"("event":"server_shutdown")", 5s), "server_shutdown"));
  CHECK(cluster.node(0).log().find("room 'island' is held by another node") != std::string::npos);
}

namespace {

/// A throwaway CA and a certificate for 127.0.0.1 signed by it, made with the openssl command
/// (Debian's openssl package, installed by scripts/install-deps.sh --test) in `dir`.
void make_test_certificates(const std::string& dir) {
  {
    std::ofstream ext(dir + "/server.ext");
    ext << "subjectAltName=IP:127.0.0.1\n";
  }
  const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::vector<std::string> steps{
      "openssl req -x509" + ec + " -keyout " + dir + "/ca.key -out " + dir +
          "/ca.crt -days 2 -subj /CN=libchat-test-ca",
      "openssl req" + ec + " -keyout " + dir + "/server.key -out " + dir + "/server.csr -subj /CN=127.0.0.1",
      "openssl x509 -req -in " + dir + "/server.csr -CA " + dir + "/ca.crt -CAkey " + dir +
          "/ca.key -CAcreateserial -out " + dir + "/server.crt -days 2 -extfile " + dir + "/server.ext",
      // Another CA, which did not sign the server's certificate.
      "openssl req -x509" + ec + " -keyout " + dir + "/other.key -out " + dir +
          "/other.crt -days 2 -subj /CN=other-ca"};
  for (const auto& step : steps)
    if (std::system((step + " >/dev/null 2>&1").c_str()) != 0) throw std::runtime_error("failed: " + step);
}

}  // namespace

TEST_CASE("NATS over TLS with a password: a node with the CA and the password serves, others stop and say why",
          "[cluster]") {
  char dir[] = "/tmp/chat-cluster-tls-XXXXXX";
  REQUIRE(::mkdtemp(dir));
  const std::string certs = dir;
  make_test_certificates(certs);
  const std::string password = "pw-7f3a9c";
  auto nats = std::make_unique<nats_process>(
      0, std::vector<std::uint16_t>{}, "nats-tls",
      std::vector<std::string>{"--tls", "--tlscert", certs + "/server.crt", "--tlskey", certs + "/server.key", "--user",
                               "chat", "--pass", password});
  const std::string host_port = "127.0.0.1:" + std::to_string(nats->port());
  std::vector<std::unique_ptr<nats_process>> servers;
  servers.push_back(std::move(nats));
  test_cluster cluster(std::move(servers), {"nats://chat:" + password + "@" + host_port},
                       {"--cluster-tls-ca", certs + "/ca.crt"});

  // The node that has both: rooms are created and joined through it.
  auto alice = cluster.client(0, {"--create", "behind-tls", "--name", "alice"});
  REQUIRE(has(outcome(*alice), R"("type":"connected")"));
  auto bob = cluster.client(0, {"--join", "behind-tls", "--name", "bob"});
  REQUIRE(has(outcome(*bob), R"("type":"connected")"));
  alice->send_line("over a directory behind TLS");
  CHECK(has(bob->wait_for(R"("type":"message")"), message_from("alice", "over a directory behind TLS")));
  // The password is not in its log, though the --cluster URL carries it.
  CHECK(cluster.node(0).log().find(password) == std::string::npos);
  CHECK(cluster.node(0).log().find("nats://***@" + host_port) != std::string::npos);

  // A node missing one of the two is refused by NATS. It stops at once and says why, rather than
  // start and answer server_busy for ever.
  const std::string key_file = certs + "/node.key";
  struct lacking {
    std::string what;
    std::vector<std::string> flags;
    std::string reason;
  };
  const std::vector<lacking> cases{
      {"no CA (TLS not trusted)", {"--cluster", "nats://chat:" + password + "@" + host_port}, "SSL"},
      {"the wrong CA",
       {"--cluster", "nats://chat:" + password + "@" + host_port, "--cluster-tls-ca", certs + "/other.crt"},
       "unable to get local issuer certificate"},
      {"the wrong password",
       {"--cluster", "nats://chat:wrong@" + host_port, "--cluster-tls-ca", certs + "/ca.crt"},
       "Authorization Violation"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    std::vector<std::string> args{"--bind", "127.0.0.4", "--node-name", "node4", "--key-file", key_file};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    server_process node(args);
    node.expect_failure();
    CHECK(node.wait_exit(10s) == 1);
    INFO(node.log());
    CHECK(node.log().find("NATS refused this node (--cluster nats://***@" + host_port + "): ") != std::string::npos);
    CHECK(node.log().find(c.reason) != std::string::npos);
    CHECK(node.log().find(password) == std::string::npos);
  }
  std::error_code ignored;
  std::filesystem::remove_all(certs, ignored);
}
