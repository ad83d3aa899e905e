// Decides whether to talk to the server whose key operation 3 returned: against --server-key, or
// against the known-servers file (pinning the key on first contact). Prints what the user must
// know; the file logic itself is in known_servers.hpp.
#pragma once

#include "options.hpp"

#include <libchat/secure_handshake.hpp>

#include <optional>
#include <string>
#include <vector>

namespace chat_cli {

/// Where the pins of one server are: the name as typed and the address it resolved to, as
/// server_id() writes them (the address is empty if unknown). Filled by trust_server_key with the
/// ids that pin the key now, where an announced next key is then recorded.
struct pinned_server {
  std::string name;
  std::string address;
  std::vector<std::string> pinned;  ///< empty: nothing pinned (--server-key, --accept-unpinned)
};

/// Returns the exit code when the key must not be used (already reported, as a JSON error line
/// in JSON mode): 3 for a key that is not the pinned one (by name or by address), 5 when a new
/// pin cannot be stored (unless --accept-unpinned), 2 when the known-servers file cannot be
/// read or placed. Remarks for the user (the first-contact line) are printed on stderr and also
/// added to `remarks`, for a full-screen view to show them again.
std::optional<int> trust_server_key(const client_options& options, const libchat::public_key& key,
                                    pinned_server& server, std::vector<std::string>& remarks);

/// After a handshake whose sealed completion announced `next` (the key the server rotates to):
/// records it as an "@next" line for every id that pins the current key. A failure is a remark,
/// not an error: the current key is pinned all the same.
void record_next_key(const client_options& options, const pinned_server& server, const libchat::public_key& next,
                     std::vector<std::string>& remarks);

/// The fingerprint this client expects from the server (--server-key, or the known-servers
/// file's first line for it), if any. A server that has one must never be answered by suggesting
/// plaintext: a reply that says "I have no key" comes from someone else at its address. Reads
/// the file silently; nullopt if it cannot.
std::optional<std::string> pinned_fingerprint(const client_options& options);

}  // namespace chat_cli
