// The known-servers file: the key fingerprint pinned for each server, as SSH's known_hosts does.
// On first contact chat-client appends the server's fingerprint; later, a server that presents
// another key is refused. One line per pin, '#' starts a comment line:
//
//   # chat-client pins the servers it has talked to
//   chat.example:9000 SHA256:SpYkfOWxRjQgA0HJnAbdprnpgEaT9BMb7hUWdnOmdOA
//   192.0.2.7:9000 SHA256:SpYkfOWxRjQgA0HJnAbdprnpgEaT9BMb7hUWdnOmdOA
//   @next chat.example:9000 SHA256:…
//   @next 192.0.2.7:9000 SHA256:…
//
// A first contact pins the name as typed and the address it resolved to (SSH's CheckHostIP), so
// that another name for the same address is not a new first contact. "@next" lines (version 2 of
// the format; older clients skip them as unreadable lines) hold the key a server announced for
// its rotation inside a sealed completion: it is accepted once the server switches to it, and
// then replaces the old pin. docs/security.md describes the file.
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
  bool next = false;        ///< an "@next" line: the key the server announced for its rotation
};

struct known_servers {
  std::vector<known_server> entries;
  std::vector<std::size_t> bad_lines;  ///< 1-based numbers of lines that are neither an entry nor a comment
};

/// Reads the file's text. Blank lines and lines starting with '#' are skipped; an entry is two
/// fields separated by blanks (after an optional "@next" marker), optionally followed by a '#'
/// comment. Anything else is listed in bad_lines and otherwise ignored.
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

/// What the file's pins (not its "@next" lines) say about `server` presenting `fingerprint`.
pin_check check_pin(const known_servers& file, std::string_view server, std::string_view fingerprint);

/// How a server reached by `name` (as typed) at `address` (the address it resolved to, both as
/// server_id() writes them) may be trusted with the key `fingerprint`.
enum class trust_verdict {
  known,             ///< the name's pin
  known_by_address,  ///< the name is new, but its address has this pin: not a first contact
  first_contact,     ///< neither the name nor its address has a pin
  rotated,           ///< the key the server announced as its next one (an "@next" line)
  mismatch,          ///< the name is pinned to another key
  address_mismatch,  ///< the name is new, and its address is pinned to another key
};

struct trust_decision {
  trust_verdict verdict = trust_verdict::first_contact;
  known_server pinned;  ///< mismatch, address_mismatch: the line that pins another key
  /// Server ids to append a pin for (the name and/or the address) when the key is used.
  std::vector<std::string> to_pin;
  /// known: the address is pinned to another key (warn; the name's pin decides).
  std::optional<known_server> address_conflict;
};

trust_decision decide_trust(const known_servers& file, std::string_view name, std::string_view address,
                            std::string_view fingerprint);

/// The line that pins `fingerprint` for `server`, with its newline.
std::string known_server_line(std::string_view server, std::string_view fingerprint);
/// The "@next" line that holds `fingerprint` as the announced successor of `server`'s key.
std::string next_key_line(std::string_view server, std::string_view fingerprint);

/// The file's text after the rotation to `fingerprint` on `servers`: their pins of other keys and
/// their "@next" lines go, and each has one pin of `fingerprint`. Every other line is kept as is.
std::string rotated_text(std::string_view text, const known_servers& file, const std::vector<std::string>& servers,
                         std::string_view fingerprint);

/// The ids of `servers` for which the file has neither a pin nor an "@next" line with
/// `fingerprint`: where an announced next key is still to be recorded.
std::vector<std::string> missing_next_pins(const known_servers& file, const std::vector<std::string>& servers,
                                           std::string_view fingerprint);

/// Where the file is by default: $XDG_CONFIG_HOME/libchat/known_servers when XDG_CONFIG_HOME is
/// an absolute path, else $HOME/.config/libchat/known_servers; nullopt without either. The
/// arguments are the variables' values (null when unset).
std::optional<std::string> default_known_servers_path(const char* xdg_config_home, const char* home);

/// `path` for a message: "~/…" when it lies under `home`.
std::string display_path(std::string_view path, const char* home);

// --- the file system ---------------------------------------------------------------------------

/// The file's text; an absent file (or one whose directory is a file) reads as empty. Nullopt
/// when it exists but cannot be read, with `error` saying why.
std::optional<std::string> read_known_servers(const std::string& path, std::string& error);

/// Appends the line that pins `fingerprint` for `server`, creating the missing directories
/// (mode 0700) and the file (mode 0600). Starts a new line first if the file does not end with
/// one. Returns an empty string, or a sentence saying what failed.
std::string append_known_server(const std::string& path, std::string_view server, std::string_view fingerprint);

/// Appends `lines` (complete lines) in the same way. Returns an empty string, or why it failed.
std::string append_known_lines(const std::string& path, std::string_view lines);

/// Replaces the file's text atomically (a temporary file in the same directory, mode 0600, then
/// rename). Returns an empty string, or why it failed.
std::string replace_known_servers(const std::string& path, std::string_view text);

}  // namespace chat_cli
