// chat-client's command line (Boost.Program_options). What the flags leave out, prompts.hpp asks.
#pragma once

#include <libchat/tcrp.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace chat_cli {

struct client_options {
  std::string server = "127.0.0.1:9000";  ///< as given, for messages
  std::string host = "127.0.0.1";
  std::uint16_t port = 9000;
  std::optional<libchat::operation> op;  ///< unset: ask
  std::string room;                      ///< empty: ask
  std::string name;                      ///< empty: ask
  std::optional<std::string> password;   ///< from --password-file/--password-env ("" = none)
  bool json = false;
  /// --insecure: the plaintext protocol (no server key, no sealing).
  bool insecure = false;
  /// --server-key: the fingerprint the server must present ("SHA256:…"); the known-servers
  /// file is then neither read nor written.
  std::optional<std::string> server_key;
  /// --known-servers: where fingerprints are pinned; unset: the default under the config directory.
  std::optional<std::string> known_servers;
  /// --accept-unpinned: go on when a first contact's key cannot be pinned (the default refuses).
  bool accept_unpinned = false;
  std::chrono::seconds keepalive{15};
  std::chrono::seconds handshake_timeout{5};
};

struct parsed_options {
  client_options options;
  /// Set when the program must end now: after --help or --version (0), or a usage error (2),
  /// both already printed.
  std::optional<int> exit_now;
};

parsed_options parse_options(int argc, const char* const argv[]);

/// Splits "HOST:PORT" ("[v6]:PORT" for IPv6). False when it is not of that form.
bool split_host_port(std::string_view text, std::string& host, std::uint16_t& port);

}  // namespace chat_cli
