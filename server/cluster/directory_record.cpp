#include "directory_record.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cryptopp/sha.h>

#include <array>
#include <charconv>

namespace chat_server::cluster {
namespace json = boost::json;

std::string encode_record(const directory_record& r) {
  char hex[17] = {};
  std::to_chars(hex, hex + 16, r.incarnation, 16);
  json::object o;
  o["room"] = r.room;
  o["node"] = r.node;
  o["incarnation"] = hex;
  o["created"] = r.created;
  return json::serialize(o);
}

std::optional<directory_record> decode_record(std::string_view value) {
  boost::system::error_code ec;
  const json::value v = json::parse(value, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  const auto* room = o.if_contains("room");
  const auto* node = o.if_contains("node");
  const auto* incarnation = o.if_contains("incarnation");
  const auto* created = o.if_contains("created");
  if (!room || !room->is_string() || !node || !node->is_string() || !incarnation || !incarnation->is_string() ||
      !created || !created->is_int64())
    return std::nullopt;
  directory_record r;
  r.room = std::string(room->as_string());
  r.node = std::string(node->as_string());
  const auto& text = incarnation->as_string();
  const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), r.incarnation, 16);
  if (err != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  r.created = created->as_int64();
  if (!valid_node_name(r.node)) return std::nullopt;
  return r;
}

std::string directory_key(std::string_view room) {
  std::array<std::uint8_t, CryptoPP::SHA256::DIGESTSIZE> digest{};
  CryptoPP::SHA256().CalculateDigest(digest.data(), reinterpret_cast<const CryptoPP::byte*>(room.data()), room.size());
  static constexpr char digits[] = "0123456789abcdef";
  std::string key;
  for (std::size_t i = 0; i < 16; ++i) {
    key += digits[digest[i] >> 4];
    key += digits[digest[i] & 15];
  }
  return key;
}

unsigned bucket_of(std::string_view key, unsigned buckets) {
  unsigned value = 0;
  for (std::size_t i = 0; i < 8 && i < key.size(); ++i) {
    const char c = key[i];
    value = value * 16 + static_cast<unsigned>(c >= 'a' ? c - 'a' + 10 : c - '0');
  }
  return buckets ? value % buckets : 0;
}

bool valid_node_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace chat_server::cluster
