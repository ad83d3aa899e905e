// Forged UDP datagrams: IPv4 packets written whole (IPPROTO_RAW, so IP_HDRINCL) with a source
// address and port of the test's choosing, as an off-path attacker who can spoof sources would
// send them. Needs root (CAP_NET_RAW); on loopback the receiving socket sees the forged source.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace chat_test {

class raw_udp_sender {
 public:
  raw_udp_sender();
  ~raw_udp_sender();
  raw_udp_sender(const raw_udp_sender&) = delete;
  raw_udp_sender& operator=(const raw_udp_sender&) = delete;

  /// False when the process may not open a raw socket (not root): the caller says so and skips.
  bool active() const noexcept { return fd_ >= 0; }
  /// Why not, when not active.
  const std::string& error() const noexcept { return error_; }

  /// Sends one UDP datagram from `source_ip:source_port` to `dest_ip:dest_port`, with a correct
  /// UDP checksum. False if the kernel refused it.
  bool send(const std::string& source_ip, std::uint16_t source_port, const std::string& dest_ip,
            std::uint16_t dest_port, std::span<const std::uint8_t> payload);

  /// Sends an ICMP "port unreachable" from `source_ip` to `dest_ip` that quotes a UDP datagram
  /// `dest_ip`:`quoted_source_port` -> `quoted_dest_ip`:`quoted_dest_port` carrying `quoted_payload`,
  /// as a router or host on the path would send about a datagram it could not deliver. Nothing
  /// ties it to a datagram really sent: the receiving kernel takes it on the quoted ports alone.
  bool send_port_unreachable(const std::string& source_ip, const std::string& dest_ip, std::uint16_t quoted_source_port,
                             const std::string& quoted_dest_ip, std::uint16_t quoted_dest_port,
                             std::span<const std::uint8_t> quoted_payload = {});

  /// UDP payload bytes and datagrams sent so far.
  std::uint64_t payload_bytes() const noexcept { return payload_bytes_; }
  std::uint64_t datagrams() const noexcept { return datagrams_; }

 private:
  int fd_ = -1;
  std::string error_;
  std::uint64_t payload_bytes_ = 0;
  std::uint64_t datagrams_ = 0;
};

}  // namespace chat_test
