#include "raw_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace chat_test {
namespace {

in_addr parse_ip(const std::string& ip) {
  in_addr a{};
  if (::inet_pton(AF_INET, ip.c_str(), &a) != 1) throw std::runtime_error("bad IPv4 address " + ip);
  return a;
}

// The Internet checksum (RFC 1071) over `bytes`, continuing from `sum`.
std::uint32_t add_ones_complement(std::uint32_t sum, const std::uint8_t* bytes, std::size_t n) {
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += static_cast<std::uint32_t>(bytes[i] << 8 | bytes[i + 1]);
  if (n % 2 != 0) sum += static_cast<std::uint32_t>(bytes[n - 1] << 8);
  return sum;
}

std::uint16_t fold(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

void put16(std::uint8_t* at, std::uint16_t v) {
  at[0] = static_cast<std::uint8_t>(v >> 8);
  at[1] = static_cast<std::uint8_t>(v);
}

// An IPv4 header without options for `payload_size` bytes of protocol `protocol`, checksummed.
void write_ip_header(std::uint8_t* ip, std::size_t payload_size, std::uint8_t protocol, in_addr source, in_addr dest) {
  ip[0] = 0x45;  // version 4, 5 words
  ip[1] = 0;     // DSCP/ECN
  put16(ip + 2, static_cast<std::uint16_t>(20 + payload_size));
  put16(ip + 4, 0x4c43);  // id
  ip[6] = 0x40;           // don't fragment
  ip[7] = 0;
  ip[8] = 64;  // TTL
  ip[9] = protocol;
  ip[10] = ip[11] = 0;
  std::memcpy(ip + 12, &source, 4);
  std::memcpy(ip + 16, &dest, 4);
  put16(ip + 10, fold(add_ones_complement(0, ip, 20)));
}

}  // namespace

raw_udp_sender::raw_udp_sender() {
  fd_ = ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd_ < 0) error_ = std::string("socket(AF_INET, SOCK_RAW, IPPROTO_RAW): ") + std::strerror(errno);
}

raw_udp_sender::~raw_udp_sender() {
  if (fd_ >= 0) ::close(fd_);
}

bool raw_udp_sender::send(const std::string& source_ip, std::uint16_t source_port, const std::string& dest_ip,
                          std::uint16_t dest_port, std::span<const std::uint8_t> payload) {
  if (fd_ < 0) return false;
  constexpr std::size_t ip_size = 20, udp_size = 8;
  if (payload.size() > 65535 - ip_size - udp_size) return false;
  const in_addr source = parse_ip(source_ip), dest = parse_ip(dest_ip);
  std::vector<std::uint8_t> packet(ip_size + udp_size + payload.size());

  // With IP_HDRINCL the kernel would fill in the header checksum and total length; we write them.
  write_ip_header(packet.data(), udp_size + payload.size(), IPPROTO_UDP, source, dest);

  // UDP header and payload, checksummed with the pseudo-header (source, dest, protocol, length).
  std::uint8_t* udp = packet.data() + ip_size;
  const auto udp_length = static_cast<std::uint16_t>(udp_size + payload.size());
  put16(udp, source_port);
  put16(udp + 2, dest_port);
  put16(udp + 4, udp_length);
  if (!payload.empty()) std::memcpy(udp + udp_size, payload.data(), payload.size());
  std::uint8_t pseudo[12];
  std::memcpy(pseudo, &source, 4);
  std::memcpy(pseudo + 4, &dest, 4);
  pseudo[8] = 0;
  pseudo[9] = IPPROTO_UDP;
  put16(pseudo + 10, udp_length);
  std::uint16_t udp_check = fold(add_ones_complement(add_ones_complement(0, pseudo, sizeof pseudo), udp, udp_length));
  if (udp_check == 0) udp_check = 0xffff;  // 0 means "no checksum" in UDP over IPv4
  put16(udp + 6, udp_check);

  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr = dest;
  const ssize_t n = ::sendto(fd_, packet.data(), packet.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  if (n != static_cast<ssize_t>(packet.size())) return false;
  payload_bytes_ += payload.size();
  ++datagrams_;
  return true;
}

bool raw_udp_sender::send_port_unreachable(const std::string& source_ip, const std::string& dest_ip,
                                           std::uint16_t quoted_source_port, const std::string& quoted_dest_ip,
                                           std::uint16_t quoted_dest_port,
                                           std::span<const std::uint8_t> quoted_payload) {
  if (fd_ < 0) return false;
  const in_addr source = parse_ip(source_ip), dest = parse_ip(dest_ip), quoted_dest = parse_ip(quoted_dest_ip);
  // outer IP | ICMP type 3 code 3 (8) | the datagram it is about: IP (20) | UDP (8) | payload
  const std::size_t quoted_size = 20 + 8 + quoted_payload.size();
  std::vector<std::uint8_t> packet(20 + 8 + quoted_size);
  std::uint8_t* icmp = packet.data() + 20;
  std::uint8_t* inner_ip = icmp + 8;
  std::uint8_t* inner_udp = inner_ip + 20;
  write_ip_header(inner_ip, 8 + quoted_payload.size(), IPPROTO_UDP, dest, quoted_dest);
  put16(inner_udp, quoted_source_port);
  put16(inner_udp + 2, quoted_dest_port);
  put16(inner_udp + 4, static_cast<std::uint16_t>(8 + quoted_payload.size()));
  put16(inner_udp + 6, 0);  // "no checksum": nobody checks a quoted datagram's
  if (!quoted_payload.empty()) std::memcpy(inner_udp + 8, quoted_payload.data(), quoted_payload.size());
  icmp[0] = 3;  // destination unreachable
  icmp[1] = 3;  // port unreachable
  put16(icmp + 2, 0);
  put16(icmp + 2, fold(add_ones_complement(0, icmp, 8 + quoted_size)));
  write_ip_header(packet.data(), 8 + quoted_size, IPPROTO_ICMP, source, dest);

  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr = dest;
  const ssize_t n = ::sendto(fd_, packet.data(), packet.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  return n == static_cast<ssize_t>(packet.size());
}

}  // namespace chat_test
