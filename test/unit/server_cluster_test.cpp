// Cluster mode's pure parts: the room directory's entries and keys, and node liveness (time
// passed in).

#include "cluster/cluster_settings.hpp"
#include "cluster/directory_record.hpp"
#include "cluster/liveness.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace chat_server::cluster;
using namespace std::chrono_literals;

TEST_CASE("a directory entry reads back as written, and anything else is refused", "[cluster]") {
  const directory_record r{"lobby ✓", "node-2", 0xfedcba9876543210ull, 1796000000};
  const std::string value = encode_record(r);
  CHECK(value == R"({"room":"lobby ✓","node":"node-2","incarnation":"fedcba9876543210","created":1796000000})");
  const auto back = decode_record(value);
  REQUIRE(back);
  CHECK(back->room == r.room);
  CHECK(back->node == r.node);
  CHECK(back->incarnation == r.incarnation);
  CHECK(back->created == r.created);

  for (const char* bad : {"", "[]", "{}", R"({"room":"a","node":"n","incarnation":"zz","created":1})",
                          R"({"room":"a","node":"n","incarnation":"","created":1})",
                          R"({"room":"a","node":"bad node","incarnation":"1","created":1})",
                          R"({"room":"a","node":"n","incarnation":"1","created":"1"})",
                          R"({"room":1,"node":"n","incarnation":"1","created":1})", "not json"})
    CHECK_FALSE(decode_record(bad));
}

TEST_CASE("directory keys are fixed hex digests of the name, spread evenly over the buckets", "[cluster]") {
  // SHA-256("lobby"), first 16 bytes: every node computes the same key.
  CHECK(directory_key("lobby") == "4b5dc076e7b9c122b3c89121a9710fc7");
  CHECK(directory_key("") == "e3b0c44298fc1c149afbf4c8996fb924");
  CHECK(directory_key(std::string(255, 'x')).size() == 32);
  CHECK(directory_key("Lobby") != directory_key("lobby"));
  std::array<int, 8> per_bucket{};
  for (int i = 0; i < 8000; ++i) ++per_bucket[bucket_of(directory_key("room-" + std::to_string(i)), 8)];
  for (int n : per_bucket) CHECK((n > 850 && n < 1150));
  CHECK(bucket_of(directory_key("lobby"), 1) == 0);
}

TEST_CASE("node names are NATS subject tokens", "[cluster]") {
  CHECK(valid_node_name("node1"));
  CHECK(valid_node_name("eu-west_3"));
  CHECK(valid_node_name(std::string(64, 'a')));
  for (const std::string& bad : {std::string(), std::string(65, 'a'), std::string("a.b"), std::string("a b"),
                                 std::string("a*"), std::string("a>"), std::string("ünï")})
    CHECK_FALSE(valid_node_name(bad));
}

TEST_CASE("a node is alive while heard within the timeout, in the incarnation its entries name", "[cluster]") {
  const auto t0 = liveness::clock::time_point{} + 1000s;
  liveness live("self", 7, 2s);
  // Before this node has listened for a whole timeout it frees nobody's names.
  CHECK(live.alive("other", 1, t0));
  live.listening_since(t0);
  CHECK(live.alive("other", 1, t0 + 1s));
  CHECK_FALSE(live.alive("other", 1, t0 + 2s));  // never heard in a whole timeout: dead
  live.heard("other", 1, t0 + 2s);
  CHECK(live.alive("other", 1, t0 + 3s));
  CHECK(live.alive("other", 1, t0 + 3999ms));
  CHECK_FALSE(live.alive("other", 1, t0 + 4s));
  // The node restarted: entries of its earlier process are stale at once.
  live.heard("other", 2, t0 + 5s);
  CHECK(live.alive("other", 2, t0 + 5s));
  CHECK_FALSE(live.alive("other", 1, t0 + 5s));
  // This node itself: alive in its own incarnation only (an entry of an earlier run is stale).
  CHECK(live.alive("self", 7, t0 + 100s));
  CHECK_FALSE(live.alive("self", 6, t0));
  // A heartbeat that arrives late does not move time back.
  live.heard("other", 2, t0 + 1s);
  CHECK(live.alive("other", 2, t0 + 6s));
  CHECK(live.live_nodes(t0 + 6s) == 2);
  CHECK(live.live_nodes(t0 + 10s) == 1);
}

TEST_CASE("a NATS URL's credentials never reach the log", "[cluster]") {
  CHECK(redacted_url("nats://chat:s3cret@10.0.0.1:4222") == "nats://***@10.0.0.1:4222");
  CHECK(redacted_url("tls://a-token@nats.example:4222") == "tls://***@nats.example:4222");
  CHECK(redacted_url("nats://p@ss:w@rd@host:4222") == "nats://***@host:4222");
  CHECK(redacted_url("nats://10.0.0.1:4222") == "nats://10.0.0.1:4222");
  CHECK(redacted_url("user:pw@host:4222") == "***@host:4222");
  CHECK(redacted_url("nats://host:4222/path@x") == "nats://host:4222/path@x");
}
