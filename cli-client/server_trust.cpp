#include "server_trust.hpp"

#include "exit_codes.hpp"
#include "json_mode.hpp"
#include "known_servers.hpp"
#include "terminal_text.hpp"

#include <cstdlib>
#include <iostream>

#include <pwd.h>
#include <unistd.h>

namespace chat_cli {
namespace {

// $HOME, or the password database's home when HOME is unset (as OpenSSH does).
const char* home_directory() {
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') return home;
  const passwd* entry = ::getpwuid(::getuid());
  return entry != nullptr ? entry->pw_dir : nullptr;
}

int fail(const client_options& options, int code, std::string_view json_code, const std::string& message) {
  if (options.json) {
    print_json_error(json_code, message);
  } else {
    std::cerr << "chat-client: " << neutralise(message) << '\n';
  }
  return code;
}

void remark(std::vector<std::string>& remarks, const std::string& text) {
  std::cerr << "chat-client: " << neutralise(text) << '\n';
  remarks.push_back(text);
}

std::optional<std::string> known_servers_path(const client_options& options, const char* home) {
  if (options.known_servers) return options.known_servers;
  return default_known_servers_path(std::getenv("XDG_CONFIG_HOME"), home);
}

}  // namespace

std::optional<std::string> pinned_fingerprint(const client_options& options) {
  if (options.server_key) return options.server_key;
  const std::optional<std::string> path = known_servers_path(options, home_directory());
  if (!path) return std::nullopt;
  std::string error;
  const std::optional<std::string> text = read_known_servers(*path, error);
  if (!text) return std::nullopt;
  // Any fingerprint that no line has: a server with lines reports its first one as the pin.
  const pin_check check = check_pin(parse_known_servers(*text), server_id(options.host, options.port), "");
  if (check.status == pin_status::unknown) return std::nullopt;
  return check.pinned.fingerprint;
}

std::optional<int> trust_server_key(const client_options& options, const libchat::public_key& key,
                                    std::vector<std::string>& remarks) {
  const std::string server = server_id(options.host, options.port);
  const std::string presented = libchat::key_fingerprint(key);
  const std::string warning = " Someone may be intercepting the connection, or the server's key was replaced.";

  if (options.server_key) {
    if (presented == *options.server_key) return std::nullopt;
    return fail(options, exit_code::network, "server_key_mismatch",
                "the server at " + server + " presented a different key than the one given with --server-key (" +
                    presented + ", expected " + *options.server_key + ")." + warning +
                    " Nothing secret was sent. chat-server prints its key's fingerprint when it starts; ask its "
                    "operator for it.");
  }

  const char* home = home_directory();
  const std::optional<std::string> path = known_servers_path(options, home);
  if (!path) {
    return fail(options, exit_code::usage, "known_servers",
                "there is no HOME or XDG_CONFIG_HOME to keep the known-servers file in; give --known-servers "
                "FILE or --server-key SHA256:...");
  }
  const std::string shown = display_path(*path, home);

  std::string error;
  const std::optional<std::string> text = read_known_servers(*path, error);
  if (!text) return fail(options, exit_code::usage, "known_servers", error);
  const known_servers file = parse_known_servers(*text);
  for (std::size_t line : file.bad_lines)
    std::cerr << "chat-client: ignoring line " << line << " of " << neutralise(shown)
              << ": it is not \"HOST:PORT SHA256:...\"\n";

  const pin_check check = check_pin(file, server, presented);
  switch (check.status) {
    case pin_status::match: return std::nullopt;
    case pin_status::mismatch:
      return fail(options, exit_code::network, "server_key_mismatch",
                  "the server at " + server + " presented a different key than the one pinned for it (" + presented +
                      ", pinned " + check.pinned.fingerprint + " in " + shown + ")." + warning +
                      " Nothing secret was sent. If you trust the change, delete that line (line " +
                      std::to_string(check.pinned.line) + ") from " + shown + ".");
    case pin_status::unknown: break;
  }

  // First contact: trust the key from now on, as SSH does.
  if (std::string failure = append_known_server(*path, server, presented); !failure.empty()) {
    remark(remarks, "first contact with " + server + "; its key " + presented +
                        " could not be pinned, so it will not be checked next time: " + failure);
    return std::nullopt;
  }
  remark(remarks, "first contact with " + server + "; its key " + presented + " is now pinned in " + shown);
  return std::nullopt;
}

}  // namespace chat_cli
