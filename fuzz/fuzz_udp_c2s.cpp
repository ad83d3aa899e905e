// fuzz_udp_c2s: the server's decoder of client datagrams, the message classifier and the control
// message parser.
//
// Input: one datagram. Oracles:
//   - decode_client_datagram fails with oversize exactly when the datagram is over 4096 bytes, and
//     with malformed exactly when a reference reading of the length fields says so; otherwise the
//     room, token and message are the bytes where the layout puts them;
//   - encode_client_datagram of the decoded fields gives back the same bytes;
//   - classify_message: keepalive iff empty, control iff it starts with 0x00;
//   - parse_control fails only with bad_control, and what it accepts re-encodes to a control
//     message that parses the same; a chat text's UTF-8 verdict matches the reference decoder.
#include "common.hpp"

#include "libchat/control.hpp"
#include "libchat/datagram.hpp"
#include "libchat/utf8.hpp"

#include <array>
#include <cstring>

namespace {

using libchat::errc;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const libchat::byte_view d(data, size);
  const auto decoded = libchat::decode_client_datagram(d);

  if (size > libchat::max_client_datagram) {
    FUZZ_CHECK(!decoded && fuzz::is_one_of(decoded.error(), {errc::oversize}),
               "a datagram over 4096 bytes not refused as oversize");
    return 0;
  }
  const bool well_formed = size >= 2 && d[0] != 0 && d[1] != 0 && std::size_t{2} + d[0] + d[1] <= size;
  if (!well_formed) {
    FUZZ_CHECK(!decoded && fuzz::is_one_of(decoded.error(), {errc::malformed}),
               "a malformed datagram decoded or failed otherwise: " + fuzz::hex(d));
    return 0;
  }
  FUZZ_CHECK(decoded.has_value(), "a well-formed datagram failed: " + fuzz::ec_text(decoded.error()));
  const auto& c = *decoded;
  FUZZ_CHECK(c.room.size() == d[0] && c.room.data() == reinterpret_cast<const char*>(data) + 2,
             "room is not where the layout puts it");
  FUZZ_CHECK(c.token.size() == d[1] && c.token.data() == reinterpret_cast<const char*>(data) + 2 + d[0],
             "token is not where the layout puts it");
  FUZZ_CHECK(c.message.size() == size - 2 - d[0] - d[1] && c.message.data() == data + 2 + d[0] + d[1],
             "message is not the rest of the datagram");

  std::array<std::uint8_t, libchat::max_client_datagram> out{};
  const auto encoded = libchat::encode_client_datagram(c.room, c.token, c.message, out);
  FUZZ_CHECK(encoded && *encoded == size && std::memcmp(out.data(), data, size) == 0,
             "encode does not give the same bytes");

  const auto kind = libchat::classify_message(c.message);
  if (c.message.empty()) {
    FUZZ_CHECK(kind == libchat::message_kind::keepalive, "an empty message is not a keepalive");
  } else if (c.message[0] == 0) {
    FUZZ_CHECK(kind == libchat::message_kind::control, "0x00 does not mark a control message");
    const auto control = libchat::parse_control(c.message);
    if (!control) {
      FUZZ_CHECK(fuzz::is_one_of(control.error(), {errc::bad_control}),
                 "parse_control: undefined error " + fuzz::ec_text(control.error()));
    } else {
      const std::string again = libchat::encode_control(*control);
      const auto reparsed = libchat::parse_control(libchat::as_bytes(again));
      FUZZ_CHECK(reparsed && *reparsed == *control, "control message does not round-trip");
      FUZZ_CHECK(libchat::is_valid_utf8(c.message.subspan(1)), "accepted a control message that is not UTF-8");
    }
  } else {
    FUZZ_CHECK(kind == libchat::message_kind::chat, "a text is not classified as chat");
    FUZZ_CHECK(libchat::is_valid_utf8(c.message) == fuzz::reference_valid_utf8(c.message),
               "UTF-8 verdicts differ on the chat text");
    FUZZ_CHECK(!libchat::parse_control(c.message), "parse_control accepted a chat text");
  }
  return 0;
}
