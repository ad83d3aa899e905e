// The server's long-term X25519 key: loaded from --key-file, or created there on first start,
// readable by its owner only (as SSH treats its host keys).
#pragma once

#include "libchat/secure_handshake.hpp"

#include <boost/system/result.hpp>

#include <string>

namespace chat_server {

struct loaded_server_key {
  libchat::server_key key;
  bool created = false;
};

/// The default key file: $XDG_STATE_HOME/chat-server/server.key, else ~/.local/state/chat-server/
/// server.key, else ./chat-server.key.
std::string default_key_file();

/// Loads the key, or creates the file (mode 0600, and its directory 0700) if it does not exist.
/// Fails if the file is unreadable, malformed, or readable by group or others.
boost::system::result<loaded_server_key> load_or_create_server_key(const std::string& path, std::string& problem);

}  // namespace chat_server
