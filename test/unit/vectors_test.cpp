// The shared protocol test vectors (test/vectors/protocol.json), which the desktop client's tests
// check too: libchat must produce and accept exactly these bytes.
#include "libchat/control.hpp"
#include "libchat/datagram.hpp"
#include "libchat/handshake.hpp"
#include "libchat/tcrp.hpp"
#include "libchat/tcrp_reader.hpp"
#include "libchat/token.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <fstream>
#include <sstream>

using namespace libchat;

namespace {

boost::json::object load_vectors() {
  std::ifstream file(PROTOCOL_VECTORS_PATH);
  REQUIRE(file);
  std::stringstream text;
  text << file.rdbuf();
  return boost::json::parse(text.str()).as_object();
}

std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

std::string str(const boost::json::value& v) { return std::string(v.as_string()); }

}  // namespace

TEST_CASE("TCRP vectors encode and decode byte for byte", "[vectors][tcrp]") {
  const auto vectors = load_vectors();
  for (const auto& entry : vectors.at("tcrp").as_array()) {
    const auto& v = entry.as_object();
    INFO(str(v.at("name")));
    const auto bytes = from_hex(v.at("hex").as_string());
    const auto op = static_cast<std::uint8_t>(v.at("operation").as_int64());
    const auto state = static_cast<frame_state>(v.at("state").as_int64());
    CHECK(encode_frame(op, state, str(v.at("room")), str(v.at("payload"))) == bytes);

    if (op > 2) continue;  // an echo of an unknown operation: clients reject it, by design
    tcrp_reader reader(state == frame_state::request ? tcrp_direction::to_server : tcrp_direction::to_client, 65536);
    auto space = reader.prepare();
    std::size_t fed = 0;
    while (fed < bytes.size() && !space.empty()) {
      const std::size_t n = std::min(space.size(), bytes.size() - fed);
      std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(fed), n, space.begin());
      reader.commit(n);
      fed += n;
      space = reader.prepare();
    }
    REQUIRE(reader.state() == tcrp_reader::status::frame_ready);
    CHECK(reader.room() == str(v.at("room")));
    CHECK(reader.payload() == str(v.at("payload")));
  }
}

TEST_CASE("the JSON payloads in the vectors are what libchat writes", "[vectors][tcrp]") {
  const auto vectors = load_vectors();
  const std::string token = str(vectors.at("token_example").at("text"));
  const auto payload = [&](std::string_view name) {
    for (const auto& entry : vectors.at("tcrp").as_array())
      if (entry.at("name").as_string() == name) return str(entry.at("payload"));
    FAIL("no vector " << name);
    return std::string();
  };
  CHECK(encode_room_request({"alice", std::nullopt}) == payload("create request"));
  CHECK(encode_room_request({"alice", "hunter2"}) == payload("create request with password"));
  CHECK(encode_accepted({"Creating room 'lobby'."}) == payload("accepted response"));
  CHECK(encode_completion({true, token, 9000, true}) == payload("created completion"));
  CHECK(encode_completion({false, token, 9000, false}) == payload("joined completion"));
  CHECK(encode_error({tcrp_error::room_exists,
                      "A room named 'lobby' already exists; join it or pick another name."}) ==
        payload("error response room_exists"));

  auto created = parse_completion(payload("created completion"));
  REQUIRE(created.has_value());
  CHECK(created->token == token);
  CHECK(created->udp_port == 9000);
  auto refused = parse_final_response(payload("error completion bad_password"));
  REQUIRE(refused.has_value());
  REQUIRE(std::holds_alternative<error_response>(*refused));
  CHECK(std::get<error_response>(*refused).error == tcrp_error::bad_password);
}

TEST_CASE("the example token parses to its index and secret", "[vectors][token]") {
  const auto vectors = load_vectors();
  const auto& t = vectors.at("token_example").as_object();
  auto token = parse_token(str(t.at("text")));
  REQUIRE(token);
  CHECK(token->index == static_cast<std::uint64_t>(t.at("index").as_int64()));
  const auto secret = from_hex(t.at("secret_hex").as_string());
  CHECK(std::equal(secret.begin(), secret.end(), token->secret.begin(), token->secret.end()));
  CHECK(token_text(*token) == str(t.at("text")));
}

TEST_CASE("client datagram vectors", "[vectors][datagram]") {
  const auto vectors = load_vectors();
  for (const auto& entry : vectors.at("client_datagrams").as_array()) {
    const auto& v = entry.as_object();
    INFO(str(v.at("name")));
    const auto bytes = from_hex(v.at("hex").as_string());
    const auto message = from_hex(v.at("message_hex").as_string());
    std::array<std::uint8_t, max_client_datagram> out{};
    auto size = encode_client_datagram(str(v.at("room")), str(v.at("token")), message, out);
    REQUIRE(size.has_value());
    CHECK(std::vector<std::uint8_t>(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(*size)) == bytes);
    auto decoded = decode_client_datagram(bytes);
    REQUIRE(decoded.has_value());
    CHECK(decoded->room == str(v.at("room")));
    CHECK(decoded->token == str(v.at("token")));
    CHECK(std::vector<std::uint8_t>(decoded->message.begin(), decoded->message.end()) == message);
    const std::string kind = str(v.at("kind"));
    const auto expected = kind == "keepalive" ? message_kind::keepalive
                          : kind == "control" ? message_kind::control
                                              : message_kind::chat;
    CHECK(classify_message(decoded->message) == expected);
    if (expected == message_kind::control) CHECK(parse_control(decoded->message).has_value());
  }
}

TEST_CASE("server datagram vectors, notices included", "[vectors][datagram]") {
  const auto vectors = load_vectors();
  for (const auto& entry : vectors.at("server_datagrams").as_array()) {
    const auto& v = entry.as_object();
    INFO(str(v.at("name")));
    const auto bytes = from_hex(v.at("hex").as_string());
    const auto text = from_hex(v.at("text_hex").as_string());
    std::array<std::uint8_t, max_server_datagram> out{};
    auto size = encode_server_datagram(str(v.at("sender")), text, out);
    REQUIRE(size.has_value());
    CHECK(std::vector<std::uint8_t>(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(*size)) == bytes);
    auto decoded = decode_server_datagram(bytes);
    REQUIRE(decoded.has_value());
    CHECK(decoded->sender == str(v.at("sender")));
    if (decoded->is_notice()) {
      auto n = parse_notice(as_text(decoded->text));
      REQUIRE(n.has_value());
      CHECK(n->event != notice_event::unknown);
      CHECK(encode_notice(*n) == as_text(decoded->text));  // libchat writes notices exactly so
    }
  }
}
