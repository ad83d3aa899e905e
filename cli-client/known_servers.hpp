// The known-servers file: the key fingerprint pinned for each server, as SSH's known_hosts does.
// On first contact chat-client appends the server's fingerprint; later, a server that presents
// another key is refused. One line per server, '#' starts a comment line:
//
//   # chat-client pins the servers it has talked to
//   127.0.0.1:9000 SHA256:SpYkfOWxRjQgA0HJnAbdprnpgEaT9BMb7hUWdnOmdOA
//   [::1]:9000 SHA256:…
//
// The parsing and the decisions are pure (unit-tested in test/unit/cli_known_servers_test.cpp);
// the few functions at the end touch the file system.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chat_cli {

/// Checks a fingerprint as chat-server prints it: "SHA256:" and 43 characters of unpadded
/// standard base64. Returns it in that form (padding '=' dropped), or nullopt.
std::optional<std::string> normalise_fingerprint(std::string_view text);

/// How a server is named in the file: "host:port", "[v6-address]:port"; host names in lower case.
std::string server_id(std::string_view host, std::uint16_t port);

struct known_server {
  std::string server;       ///< as server_id() writes it
  std::string fingerprint;  ///< normalised
  std::size_t line = 0;     ///< 1-based, for messages
};

struct known_servers {
  std::vector<known_server> entries;
  std::vector<std::size_t> bad_lines;  ///< 1-based numbers of lines that are neither an entry nor a comment
};

/// Reads the file's text. Blank lines and lines starting with '#' are skipped; an entry is two
/// fields separated by blanks, optionally followed by a '#' comment. Anything else is listed in
/// bad_lines and otherwise ignored.
known_servers parse_known_servers(std::string_view text);

enum class pin_status {
  unknown,   ///< the server has no line: first contact
  match,     ///< a line for the server has this fingerprint
  mismatch,  ///< the server has lines, none with this fingerprint
};

struct pin_check {
  pin_status status = pin_status::unknown;
  known_server pinned;  ///< mismatch: the first line for the server
};

/// What the file says about `server` presenting `fingerprint`.
pin_check check_pin(const known_servers& file, std::string_view server, std::string_view fingerprint);

/// The line that pins `fingerprint` for `server`, with its newline.
std::string known_server_line(std::string_view server, std::string_view fingerprint);

/// Where the file is by default: $XDG_CONFIG_HOME/libchat/known_servers when XDG_CONFIG_HOME is
/// an absolute path, else $HOME/.config/libchat/known_servers; nullopt without either. The
/// arguments are the variables' values (null when unset).
std::optional<std::string> default_known_servers_path(const char* xdg_config_home, const char* home);

/// `path` for a message: "~/…" when it lies under `home`.
std::string display_path(std::string_view path, const char* home);

// --- the file system ---------------------------------------------------------------------------

/// The file's text; an absent file reads as empty. Nullopt when it exists but cannot be read,
/// with `error` saying why.
std::optional<std::string> read_known_servers(const std::string& path, std::string& error);

/// Appends the line that pins `fingerprint` for `server`, creating the missing directories
/// (mode 0700) and the file (mode 0600). Starts a new line first if the file does not end with
/// one. Returns an empty string, or a sentence saying what failed.
std::string append_known_server(const std::string& path, std::string_view server, std::string_view fingerprint);

}  // namespace chat_cli
