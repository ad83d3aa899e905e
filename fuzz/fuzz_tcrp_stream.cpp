// fuzz_tcrp_stream: the incremental TCRP reader fed a byte stream cut at fuzzer-chosen points, in
// either direction (a server reading a request, a client reading a response then a completion).
//
// Input layout (FuzzedDataProvider: integers are taken from the END, the stream from the front):
//   stream bytes ... | chunk sizes (n × 2 bytes) | n (1 byte) | max_payload selector | direction
// The last byte's low bit picks the direction (0 to_server, 1 to_client); n = 0 feeds as much as
// prepare() offers each time. A seed is therefore a frame followed by the three bytes 00 00 0d.
//
// Oracles:
//   - prepare() is never empty while the reader needs more, and never offers more than the frame
//     still needs plus the one spare byte of a server (none for a client, which must never take a
//     byte of the next frame): header + room + payload + 1 at most;
//   - a frame_ready frame has sizes within bounds, a valid room name (or an empty one in an error
//     response), room() and payload() equal to the bytes fed, and encode_frame of its fields gives
//     back exactly those bytes, which a fresh reader decodes to the same fields;
//   - a failure is one of the errors a reference check of the same bytes finds, reported as soon
//     as the header is in when the header is at fault (never after buffering a body);
//   - a reader still waiting when the stream ends has seen nothing it should have refused.
#include "common.hpp"

#include "libchat/tcrp.hpp"
#include "libchat/tcrp_reader.hpp"
#include "libchat/utf8.hpp"

#include "data_provider.hpp"

#include <array>
#include <cstring>
#include <limits>
#include <optional>
#include <set>

namespace {

using libchat::errc;
using libchat::tcrp_direction;

constexpr std::array<std::size_t, 8> max_payloads{libchat::default_max_payload, 65536, 64, 0, 1, 20, 4096, 1u << 20};

// The header as the spec reads it, computed here from the raw bytes.
struct reference_header {
  std::uint8_t room_size, op, state;
  bool size_fits_64;  // the 29-byte field's value is below 2^64
  std::uint64_t payload;
};

reference_header read_reference_header(const std::uint8_t* p) {
  reference_header h{p[0], p[1], p[2], true, 0};
  for (std::size_t i = 3; i < 32; ++i) {
    if (i < 32 - 8 && p[i] != 0) h.size_fits_64 = false;
    if (i >= 32 - 8) h.payload = (h.payload << 8) | p[i];
  }
  return h;
}

// Every rule of docs/protocol.md §3 that the header breaks for this receiver.
std::set<int> header_faults(const reference_header& h, tcrp_direction dir, std::size_t max_payload) {
  std::set<int> faults;
  // Operations: 1 create, 2 join, 3 the server's key (encrypted sessions), which names no room.
  if (h.op < 1 || h.op > 3) faults.insert(static_cast<int>(errc::unknown_operation));
  if (dir == tcrp_direction::to_server) {
    if (h.state != 0) faults.insert(static_cast<int>(errc::unknown_state));
    if (h.room_size == 0 && h.op != 3) faults.insert(static_cast<int>(errc::empty_room_name));
  } else {
    if (h.state != 1 && h.state != 2) faults.insert(static_cast<int>(errc::unknown_state));
    if (h.room_size == 0 && h.state != 1) faults.insert(static_cast<int>(errc::empty_room_name));
  }
  if (!h.size_fits_64 || h.payload > max_payload) faults.insert(static_cast<int>(errc::payload_too_large));
  return faults;
}

std::string faults_text(const std::set<int>& faults) {
  std::string s = "{";
  for (int f : faults) s += std::string(libchat::errc_name(static_cast<errc>(f))) + " ";
  return s + "}";
}

// Checks a reader that stopped (or ran out of input) after being fed exactly `fed`.
void check_reader(const libchat::tcrp_reader& reader, libchat::byte_view fed, tcrp_direction dir,
                  std::size_t max_payload) {
  const std::size_t spare = dir == tcrp_direction::to_server ? 1 : 0;
  const auto state = reader.state();
  FUZZ_CHECK(reader.header().has_value() == (fed.size() >= 32),
             "header() set after " + std::to_string(fed.size()) + " bytes");
  if (fed.size() < 32) {
    FUZZ_CHECK(state == libchat::tcrp_reader::status::need_more, "decided before the header was in");
    FUZZ_CHECK(reader.room().empty() && reader.payload().empty(), "room or payload before the header");
    return;
  }

  const reference_header h = read_reference_header(fed.data());
  const auto& got = *reader.header();
  FUZZ_CHECK(got.room_name_size == h.room_size && got.operation == h.op && got.state == h.state,
             "header fields differ from the bytes: " + fuzz::hex(fed.first(32)));
  const std::uint64_t expected_size = h.size_fits_64 ? h.payload : std::numeric_limits<std::uint64_t>::max();
  FUZZ_CHECK(got.payload_size == expected_size,
             "payload size " + std::to_string(got.payload_size) + ", expected " + std::to_string(expected_size));

  const auto faults = header_faults(h, dir, max_payload);
  if (!faults.empty()) {
    FUZZ_CHECK(state == libchat::tcrp_reader::status::failed,
               "accepted a header that breaks " + faults_text(faults) + ": " + fuzz::hex(fed.first(32)));
    FUZZ_CHECK(faults.contains(reader.error().value()) && reader.error().category() == libchat::libchat_category(),
               "error " + fuzz::ec_text(reader.error()) + " is not among " + faults_text(faults));
    FUZZ_CHECK(fed.size() <= 32 + spare,
               "a rejected header was followed by " + std::to_string(fed.size() - 32) + " bytes of body");
    FUZZ_CHECK(reader.room().empty() && reader.payload().empty(), "room or payload of a rejected header");
    return;
  }

  const std::size_t frame = 32 + std::size_t{h.room_size} + static_cast<std::size_t>(h.payload);
  const std::string_view name =
      fed.size() >= 32 + std::size_t{h.room_size} ? libchat::as_text(fed.subspan(32, h.room_size)) : std::string_view{};
  const bool name_ok = h.room_size == 0 || !fuzz::reference_check_name(name);
  if (fed.size() >= 32 + std::size_t{h.room_size}) {
    FUZZ_CHECK(reader.room() == (name_ok ? name : std::string_view{}),
               "room() is " + fuzz::hex(reader.room()) + " for a name of " + fuzz::hex(name));
  }

  switch (state) {
    case libchat::tcrp_reader::status::need_more:
      FUZZ_CHECK(fed.size() < frame, "still waiting with the whole frame in");
      return;
    case libchat::tcrp_reader::status::failed: {
      const auto ec = reader.error();
      FUZZ_CHECK(fed.size() >= frame, "failed on a good header before the frame was in: " + fuzz::ec_text(ec));
      if (fed.size() == frame + 1) {
        FUZZ_CHECK(spare == 1 && fuzz::is_one_of(ec, {errc::trailing_bytes}),
                   "a byte past the frame gave " + fuzz::ec_text(ec));
      } else {
        FUZZ_CHECK(fed.size() == frame, "failed after " + std::to_string(fed.size()) + " bytes of a " +
                                            std::to_string(frame) + "-byte frame");
        FUZZ_CHECK(!name_ok && ec == fuzz::reference_check_name(name),
                   "failed with " + fuzz::ec_text(ec) + " on the room name " + fuzz::hex(name));
      }
      FUZZ_CHECK(reader.payload().empty(), "payload() of a failed frame");
      return;
    }
    case libchat::tcrp_reader::status::frame_ready: break;
  }

  FUZZ_CHECK(fed.size() == frame, "frame_ready after " + std::to_string(fed.size()) + " bytes of a " +
                                      std::to_string(frame) + "-byte frame");
  FUZZ_CHECK(name_ok, "accepted the room name " + fuzz::hex(name));
  FUZZ_CHECK(h.payload <= max_payload, "payload over the limit");
  const std::string_view payload = libchat::as_text(fed.subspan(32 + std::size_t{h.room_size}));
  FUZZ_CHECK(reader.payload() == payload, "payload() differs from the bytes fed");

  // Round trip: the fields encode back to the very bytes, and decode again to the same fields.
  const auto encoded = libchat::encode_frame(h.op, static_cast<libchat::frame_state>(h.state), name, payload);
  FUZZ_CHECK(encoded.size() == fed.size() && std::memcmp(encoded.data(), fed.data(), fed.size()) == 0,
             "encode_frame gave " + fuzz::hex(libchat::byte_view(encoded)) + " for " + fuzz::hex(fed));
  libchat::tcrp_reader again(dir, max_payload);
  auto space = again.prepare();
  std::size_t done = 0;
  while (!space.empty() && done < encoded.size()) {
    const std::size_t n = std::min(space.size(), encoded.size() - done);
    std::memcpy(space.data(), encoded.data() + done, n);
    again.commit(n);
    done += n;
    space = again.prepare();
  }
  FUZZ_CHECK(again.state() == libchat::tcrp_reader::status::frame_ready, "the re-encoded frame did not decode");
  FUZZ_CHECK(again.room() == reader.room() && again.payload() == reader.payload() &&
                 again.header()->operation == got.operation && again.header()->state == got.state,
             "the re-encoded frame decoded to other fields");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider provider(data, size);
  const tcrp_direction dir = provider.ConsumeBool() ? tcrp_direction::to_client : tcrp_direction::to_server;
  const std::size_t max_payload = max_payloads[provider.ConsumeIntegral<std::uint8_t>() % max_payloads.size()];
  std::vector<std::size_t> chunks(provider.ConsumeIntegralInRange<std::size_t>(0, 16));
  for (auto& c : chunks) c = provider.ConsumeIntegralInRange<std::size_t>(1, 65535);
  const std::vector<std::uint8_t> stream = provider.ConsumeRemainingBytes<std::uint8_t>();
  const std::size_t spare = dir == tcrp_direction::to_server ? 1 : 0;

  std::size_t pos = 0, frame_start = 0, next_chunk = 0;
  // A client reads a response and then a completion from one stream: up to a few frames in turn.
  for (int frames = 0; frames < 4; ++frames) {
    libchat::tcrp_reader reader(dir, max_payload);
    while (true) {
      const auto space = reader.prepare();
      const std::size_t filled = pos - frame_start;
      if (reader.state() != libchat::tcrp_reader::status::need_more) {
        FUZZ_CHECK(space.empty(), "prepare() offers space after the reader decided");
        break;
      }
      FUZZ_CHECK(!space.empty(), "need_more with no space to read into");
      std::size_t needed = 32;
      if (reader.header()) {
        needed +=
            std::size_t{reader.header()->room_name_size} + static_cast<std::size_t>(reader.header()->payload_size);
      }
      FUZZ_CHECK(filled + space.size() <= needed + spare, "prepare() offers " + std::to_string(space.size()) +
                                                              " bytes after " + std::to_string(filled) +
                                                              " of a frame needing " + std::to_string(needed));
      if (pos == stream.size()) break;
      std::size_t n = std::min(space.size(), stream.size() - pos);
      if (next_chunk < chunks.size()) n = std::min(n, chunks[next_chunk++]);
      std::memcpy(space.data(), stream.data() + pos, n);
      reader.commit(n);
      pos += n;
    }
    check_reader(reader, libchat::byte_view(stream).subspan(frame_start, pos - frame_start), dir, max_payload);
    if (reader.state() != libchat::tcrp_reader::status::frame_ready || dir == tcrp_direction::to_server ||
        pos == stream.size())
      break;
    frame_start = pos;
  }
  return 0;
}
