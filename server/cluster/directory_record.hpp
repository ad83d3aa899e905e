// The room directory's entries, as plain values: what a JetStream KV entry holds for one room
// (its name, its home node and that node's incarnation, when it was created), the entry's key,
// and which of the directory's buckets holds it. No NATS here, so that tests read it as bytes.
//
// Keys: room names are any UTF-8 up to 255 bytes, KV keys are [-/_=.a-zA-Z0-9]; so the key is the
// first 16 bytes of SHA-256(name) in hex, and the full name is in the value (a lookup compares it).
// Every node computes the same key and bucket for a name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chat_server::cluster {

struct directory_record {
  std::string room;
  std::string node;               ///< the home node's --node-name
  std::uint64_t incarnation = 0;  ///< the home node's process, drawn at its start
  std::int64_t created = 0;       ///< Unix seconds
};

/// `{"room":…,"node":…,"incarnation":"…hex…","created":N}`
std::string encode_record(const directory_record& r);
/// Nullopt for anything that is not such an object (another version's entry, a corrupt value).
std::optional<directory_record> decode_record(std::string_view value);

/// The room's key in the directory: 32 lowercase hex digits.
std::string directory_key(std::string_view room);
/// Which of `buckets` buckets holds the key (0 … buckets-1), from the key's first bytes.
unsigned bucket_of(std::string_view key, unsigned buckets);

/// True for a name that can be a NATS subject token and a KV key part: 1-64 of [A-Za-z0-9_-].
bool valid_node_name(std::string_view name);

}  // namespace chat_server::cluster
