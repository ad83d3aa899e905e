// fuzz_udp_s2c: the client's decoder of server datagrams and its notice parser.
//
// Input: one datagram. Oracles:
//   - decode_server_datagram fails with oversize exactly when the datagram is over 4094 bytes, and
//     with malformed exactly when it is empty or its SenderNameSize runs past the end; otherwise
//     sender and text are the bytes where the layout puts them, and encode_server_datagram gives
//     back the same bytes;
//   - parse_notice (on a notice's text) fails with JSON and field errors only; what it accepts
//     encodes back (encode_notice) to a notice that parses to the same fields, and a known event
//     name maps to its enumerator.
#include "common.hpp"

#include "libchat/control.hpp"
#include "libchat/datagram.hpp"

#include <array>
#include <cstring>

namespace {

using libchat::errc;

bool same(const libchat::notice& a, const libchat::notice& b) {
  return a.event == b.event && a.event_name == b.event_name && a.user == b.user && a.reason == b.reason &&
         a.error == b.error;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const libchat::byte_view d(data, size);
  const auto decoded = libchat::decode_server_datagram(d);
  if (size > libchat::max_server_datagram) {
    FUZZ_CHECK(!decoded && fuzz::is_one_of(decoded.error(), {errc::oversize}),
               "a datagram over 4094 bytes not refused as oversize");
    return 0;
  }
  if (size == 0 || std::size_t{1} + d[0] > size) {
    FUZZ_CHECK(!decoded && fuzz::is_one_of(decoded.error(), {errc::malformed}),
               "a malformed datagram decoded: " + fuzz::hex(d));
    return 0;
  }
  FUZZ_CHECK(decoded.has_value(), "a well-formed datagram failed: " + fuzz::ec_text(decoded.error()));
  const auto& s = *decoded;
  FUZZ_CHECK(s.sender.size() == d[0] && s.sender.data() == reinterpret_cast<const char*>(data) + 1,
             "sender is not where the layout puts it");
  FUZZ_CHECK(s.text.size() == size - 1 - d[0] && s.text.data() == data + 1 + d[0],
             "text is not the rest of the datagram");
  FUZZ_CHECK(s.is_notice() == (d[0] == 0), "is_notice() disagrees with SenderNameSize");

  std::array<std::uint8_t, libchat::max_server_datagram> out{};
  const auto encoded = libchat::encode_server_datagram(s.sender, s.text, out);
  FUZZ_CHECK(encoded && *encoded == size && std::memcmp(out.data(), data, size) == 0,
             "encode does not give the same bytes");

  if (!s.is_notice()) return 0;
  const auto n = libchat::parse_notice(libchat::as_text(s.text));
  if (!n) {
    FUZZ_CHECK(fuzz::is_one_of(n.error(), {errc::invalid_json, errc::not_an_object, errc::duplicate_key,
                                           errc::missing_field, errc::wrong_field_type}),
               "parse_notice: undefined error " + fuzz::ec_text(n.error()));
    return 0;
  }
  if (n->event != libchat::notice_event::unknown) {
    FUZZ_CHECK(libchat::notice_event_name(n->event) == n->event_name, "event enumerator and name disagree");
  } else {
    for (auto e : {libchat::notice_event::joined, libchat::notice_event::left, libchat::notice_event::timeout,
                   libchat::notice_event::room_closed, libchat::notice_event::server_shutdown,
                   libchat::notice_event::pong, libchat::notice_event::error})
      FUZZ_CHECK(libchat::notice_event_name(e) != n->event_name, "a known event parsed as unknown: " + n->event_name);
  }
  const std::string json = libchat::encode_notice(*n);
  const auto again = libchat::parse_notice(json);
  FUZZ_CHECK(again && same(*again, *n), "notice does not round-trip: " + json);
  // And the whole notice datagram round-trips through the datagram codec.
  const auto size2 = libchat::encode_server_datagram({}, libchat::as_bytes(json), out);
  if (size2) {
    const auto d2 = libchat::decode_server_datagram(libchat::byte_view(out.data(), *size2));
    FUZZ_CHECK(d2 && d2->is_notice() && libchat::as_text(d2->text) == json,
               "re-encoded notice datagram does not decode");
  }
  return 0;
}
