// The room table's core: names spread over shards, one hash per lookup, a cap that concurrent
// inserts cannot overshoot, and erase only of the entry the caller holds.
#include "name_table.hpp"

#include <catch2/catch.hpp>

#include <cryptopp/siphash.h>

#include <array>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

using chat_server::name_table;

namespace {
struct entry {
  int id = 0;
};
}  // namespace

TEST_CASE("name table: find, insert once, erase only what one holds", "[server][name_table]") {
  name_table<entry, 8> table;
  auto a = std::make_shared<entry>(entry{1});
  using result = name_table<entry, 8>::insert_result;
  CHECK(table.insert("lobby", a, 10) == result::inserted);
  CHECK(table.insert("lobby", std::make_shared<entry>(entry{2}), 10) == result::exists);
  CHECK(table.find("lobby") == a);
  CHECK(table.find("lobbY") == nullptr);
  CHECK(table.find("") == nullptr);
  // A new room that took the name meanwhile is not erased by the old one's owner.
  table.erase("lobby", a.get());
  auto b = std::make_shared<entry>(entry{3});
  CHECK(table.insert("lobby", b, 10) == result::inserted);
  table.erase("lobby", a.get());
  CHECK(table.find("lobby") == b);
  CHECK(table.size() == 1);
  for (int i = 0; i < 500; ++i)
    REQUIRE(table.insert("room " + std::to_string(i), std::make_shared<entry>(entry{i}), 1000) == result::inserted);
  CHECK(table.size() == 501);
  CHECK(table.snapshot().size() == 501);
  for (int i = 0; i < 500; ++i) REQUIRE(table.find("room " + std::to_string(i))->id == i);
}

TEST_CASE("name table: concurrent inserts never overshoot the cap", "[server][name_table]") {
  name_table<entry> table;
  constexpr std::size_t cap = 1000;
  std::atomic<int> inserted{0}, full{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 600; ++i) {
        switch (table.insert("t" + std::to_string(t) + "-" + std::to_string(i), std::make_shared<entry>(), cap)) {
          case name_table<entry>::insert_result::inserted: ++inserted; break;
          case name_table<entry>::insert_result::full: ++full; break;
          case name_table<entry>::insert_result::exists: break;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(inserted == static_cast<int>(cap));
  CHECK(full == 2400 - static_cast<int>(cap));
  CHECK(table.size() == cap);
  CHECK(table.snapshot().size() == cap);
}

TEST_CASE("name table: the keyed hash is SipHash-2-4", "[server][name_table]") {
  // The reference vector of the SipHash paper (appendix A): key 00..0f, message 00..0e.
  std::array<std::uint8_t, 16> key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i);
  std::string message;
  for (char c = 0; c < 15; ++c) message.push_back(c);
  const chat_server::name_hasher hasher(key);
  CHECK(hasher(message) == 0xa129ca6149be45e5ULL);
  // And the same as Crypto++'s for every length up to 64 (every tail length, several words).
  for (std::size_t n = 0; n <= 64; ++n) {
    std::string text;
    for (std::size_t i = 0; i < n; ++i) text.push_back(static_cast<char>(i * 37 + 11));
    CryptoPP::SipHash<2, 4, false> reference(key.data(), static_cast<unsigned>(key.size()));
    reference.Update(reinterpret_cast<const CryptoPP::byte*>(text.data()), text.size());
    std::uint64_t expected = 0;
    reference.TruncatedFinal(reinterpret_cast<CryptoPP::byte*>(&expected), sizeof expected);
    INFO(n);
    CHECK(hasher(text) == expected);
  }
}
