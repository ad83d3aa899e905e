#include "libchat/address.hpp"

#include <catch2/catch.hpp>

#include "support/catch_strings.hpp"

using namespace libchat;

TEST_CASE("IPv4 addresses are stored IPv4-mapped and compare equal to their mapped IPv6 form", "[address]") {
  const ip_address v4 = ip_address::from_v4({127, 0, 0, 1});
  CHECK(v4.is_v4());
  CHECK(v4.bytes == std::array<std::uint8_t, 16>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1});
  CHECK(v4 == ip_address::from_v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1}));
  CHECK(v4 != ip_address::from_v4({127, 0, 0, 2}));
  CHECK(v4.to_string() == "127.0.0.1");
  CHECK(ip_address::from_v4({255, 255, 255, 255}).to_string() == "255.255.255.255");

  const ip_address loopback6 = ip_address::from_v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  CHECK_FALSE(loopback6.is_v4());
  CHECK(loopback6 != v4);
  CHECK(loopback6.to_string() == "0:0:0:0:0:0:0:1");
}

TEST_CASE("ip_address::parse reads textual IPv4 and IPv6 addresses and nothing else", "[address]") {
  CHECK(ip_address::parse("127.0.0.1") == ip_address::from_v4({127, 0, 0, 1}));
  CHECK(ip_address::parse("::ffff:127.0.0.1") == ip_address::from_v4({127, 0, 0, 1}));  // the same host
  CHECK(ip_address::parse("2001:db8::abcd") ==
        ip_address::from_v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd}));
  for (const char* bad : {"", "localhost", "127.0.0.1:80", "[::1]", "1.2.3", "1.2.3.4.5", "01.2.3.4", "::1%lo",
                          "1:2:3:4:5:6:7:8:9", "0000:0000:0000:0000:0000:0000:255.255.255.255.1"})
    CHECK_FALSE(ip_address::parse(bad));
  CHECK_FALSE(ip_address::parse(std::string(100, '1')));
}

TEST_CASE("peer addresses print with their port and hash by address and port", "[address]") {
  const peer_address a{ip_address::from_v4({127, 0, 0, 1}), 4000};
  const peer_address b{ip_address::from_v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd}), 65535};
  CHECK(a.to_string() == "127.0.0.1:4000");
  CHECK(b.to_string() == "[2001:db8:0:0:0:0:0:abcd]:65535");

  const peer_address_hash hash;
  CHECK(hash(a) == hash(peer_address{ip_address::from_v4({127, 0, 0, 1}), 4000}));
  CHECK(a != peer_address{a.ip, 4001});
  CHECK(hash(a) != hash(peer_address{a.ip, 4001}));
  CHECK(hash(a) != hash(peer_address{ip_address::from_v4({127, 0, 0, 2}), 4000}));
}
