// chat-server's hash queue policy, without threads: budget order, per-client cap, making room
// for a client with more budget left, and cancelling a job whose connection ended.
#include "hash_queue.hpp"

#include <catch2/catch.hpp>

using chat_server::hash_queue;
using libchat::ip_address;
using queue = hash_queue<int>;

namespace {
ip_address v4(std::uint8_t last) {
  return ip_address::from_v4({10, 0, 0, last});
}
}  // namespace

TEST_CASE("the client with most hash budget left runs first, the oldest first among equals", "[hash_queue]") {
  queue q({.capacity = 8, .per_client = 1});
  CHECK(q.push(v4(1), 0.2, 1).what == queue::verdict::queued);
  CHECK(q.push(v4(2), 9, 2).what == queue::verdict::queued);
  CHECK(q.push(v4(3), 0.2, 3).what == queue::verdict::queued);
  CHECK(q.push(v4(4), 9, 4).what == queue::verdict::queued);
  CHECK(q.pop() == 2);
  CHECK(q.pop() == 4);
  CHECK(q.pop() == 1);
  CHECK(q.pop() == 3);
  CHECK_FALSE(q.pop());
  CHECK(q.clients() == 0);
}

TEST_CASE("a client holds at most per_client jobs, and a popped job frees its place", "[hash_queue]") {
  queue q({.capacity = 8, .per_client = 1});
  CHECK(q.push(v4(1), 5, 1).what == queue::verdict::queued);
  CHECK(q.push(v4(1), 5, 2).what == queue::verdict::client_full);
  CHECK(q.push(v4(2), 5, 3).what == queue::verdict::queued);  // another client is not affected
  CHECK(q.pop() == 1);
  CHECK(q.push(v4(1), 4, 4).what == queue::verdict::queued);
  CHECK(q.size() == 2);
}

TEST_CASE("a full queue drops the job of the client with least left for one with more", "[hash_queue]") {
  queue q({.capacity = 3, .per_client = 1});
  q.push(v4(1), 0.5, 1);
  q.push(v4(2), 0.1, 2);
  q.push(v4(3), 0.1, 3);
  SECTION("the newest of the poorest goes") {
    auto pushed = q.push(v4(9), 9, 9);
    CHECK(pushed.what == queue::verdict::queued);
    REQUIRE(pushed.evicted);
    CHECK(*pushed.evicted == 3);
    CHECK(q.size() == 3);
    CHECK(q.pop() == 9);
    // The dropped client may queue again.
    CHECK(q.push(v4(3), 0.05, 30).what == queue::verdict::queued);
  }
  SECTION("no better than the poorest: refused, nothing dropped") {
    auto pushed = q.push(v4(9), 0.1, 9);
    CHECK(pushed.what == queue::verdict::queue_full);
    CHECK_FALSE(pushed.evicted);
    CHECK(q.size() == 3);
  }
}

TEST_CASE("a cancelled job never runs and frees its places", "[hash_queue]") {
  queue q({.capacity = 2, .per_client = 1});
  const auto first = q.push(v4(1), 5, 1).id;
  q.push(v4(2), 5, 2);
  CHECK(q.cancel(first) == 1);
  CHECK_FALSE(q.cancel(first));  // once
  CHECK(q.push(v4(1), 5, 3).what == queue::verdict::queued);
  CHECK(q.pop() == 2);
  CHECK(q.pop() == 3);
  CHECK_FALSE(q.cancel(first));
  CHECK(q.size() == 0);
}

TEST_CASE("clear hands every job back", "[hash_queue]") {
  queue q({.capacity = 4, .per_client = 2});
  q.push(v4(1), 1, 1);
  q.push(v4(1), 1, 2);
  q.push(v4(2), 1, 3);
  CHECK(q.clear().size() == 3);
  CHECK(q.size() == 0);
  CHECK(q.clients() == 0);
}
