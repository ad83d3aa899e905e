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
                                    pinned_server& server, std::vector<std::string>& remarks) {
  const std::string presented = libchat::key_fingerprint(key);
  const std::string warning = " Someone may be intercepting the connection, or the server's key was replaced.";

  if (options.server_key) {
    if (presented == *options.server_key) return std::nullopt;
    return fail(options, exit_code::network, "server_key_mismatch",
                "the server at " + server.name + " presented a different key than the one given with --server-key (" +
                    presented + ", expected " + *options.server_key + ")." + warning +
                    " Nothing secret was sent. chat-server prints its key's fingerprint when it starts; ask its "
                    "operator for it.");
  }

  const char* home = home_directory();
  const std::optional<std::string> path = known_servers_path(options, home);
  if (!path) {
    if (options.accept_unpinned) {
      remark(remarks, "warning: --accept-unpinned: the key " + presented + " of " + server.name +
                          " is not pinned anywhere (no HOME or XDG_CONFIG_HOME), so it will not be checked next time");
      return std::nullopt;
    }
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
              << ": it is not \"[@next] HOST:PORT SHA256:...\"\n";

  const trust_decision d = decide_trust(file, server.name, server.address, presented);
  const std::string at = server.address.empty() || server.address == server.name ? "" : " (" + server.address + ")";
  switch (d.verdict) {
    case trust_verdict::mismatch:
      return fail(options, exit_code::network, "server_key_mismatch",
                  "the server at " + server.name + at + " presented a different key than the one pinned for it (" +
                      presented + ", pinned " + d.pinned.fingerprint + " in " + shown + ")." + warning +
                      " Nothing secret was sent. If you trust the change, delete that line (line " +
                      std::to_string(d.pinned.line) + ") from " + shown + ".");
    case trust_verdict::address_mismatch:
      return fail(options, exit_code::network, "server_key_mismatch",
                  "the server at " + server.name + " is new, but the address it resolved to, " + server.address +
                      ", is pinned to another key (" + presented + " presented, " + d.pinned.fingerprint +
                      " pinned in " + shown + ")." + warning +
                      " Nothing secret was sent. If you trust the change, delete that line (line " +
                      std::to_string(d.pinned.line) + ") from " + shown + ".");
    case trust_verdict::known:
      server.pinned = {server.name};
      if (d.address_conflict) {
        remark(remarks, "warning: the key of " + server.name + " is the pinned one, but its address " + server.address +
                            " is pinned to another key (line " + std::to_string(d.address_conflict->line) + " of " +
                            shown + "); the name's pin decides");
      }
      break;
    case trust_verdict::rotated: {
      // The key the old one announced in a sealed completion: it replaces the old pins.
      const std::string failure = replace_known_servers(*path, rotated_text(*text, file, d.to_pin, presented));
      server.pinned = d.to_pin;
      remark(remarks, "the server " + server.name + " rotated its key to " + presented + ", as it had announced; " +
                          (failure.empty() ? "the old key is no longer trusted (" + shown + ")"
                                           : "the old key could not be removed: " + failure));
      return std::nullopt;
    }
    case trust_verdict::known_by_address:
    case trust_verdict::first_contact: break;
  }
  if (d.to_pin.empty()) return std::nullopt;

  std::string lines;
  for (const std::string& id : d.to_pin) lines += known_server_line(id, presented);
  const std::string failure = append_known_lines(*path, lines);
  if (d.verdict == trust_verdict::known) {
    // Only the address was new: the name's pin checks the key next time all the same.
    if (failure.empty()) server.pinned.push_back(server.address);
    return std::nullopt;
  }
  const std::string contact = d.verdict == trust_verdict::first_contact
                                  ? "first contact with " + server.name + at
                                  : server.name + " is new, but its address " + server.address + " has this key";
  if (!failure.empty()) {
    if (d.verdict == trust_verdict::known_by_address) {
      server.pinned = {server.address};
      remark(remarks, contact + "; the name could not be pinned as well: " + failure);
      return std::nullopt;
    }
    if (!options.accept_unpinned) {
      return fail(options, exit_code::unpinned, "pin_not_stored",
                  contact + ", but its key " + presented + " could not be pinned: " + failure +
                      ". Nothing was sent. Fix the file (or give --known-servers FILE), or run with "
                      "--accept-unpinned to connect without pinning it.");
    }
    remark(remarks, "warning: --accept-unpinned: " + contact + "; its key " + presented +
                        " could not be pinned, so it will not be checked next time: " + failure);
    return std::nullopt;
  }
  server.pinned = d.to_pin;
  if (d.verdict == trust_verdict::known_by_address) {
    remark(remarks, contact + " (pinned); " + server.name + " is now pinned in " + shown + " too");
  } else {
    remark(remarks, contact + "; its key " + presented + " is now pinned in " + shown);
  }
  return std::nullopt;
}

void record_next_key(const client_options& options, const pinned_server& server, const libchat::public_key& next,
                     std::vector<std::string>& remarks) {
  if (server.pinned.empty()) return;
  const char* home = home_directory();
  const std::optional<std::string> path = known_servers_path(options, home);
  if (!path) return;
  std::string error;
  const std::optional<std::string> text = read_known_servers(*path, error);
  if (!text) return;
  const std::string fingerprint = libchat::key_fingerprint(next);
  const std::vector<std::string> missing = missing_next_pins(parse_known_servers(*text), server.pinned, fingerprint);
  if (missing.empty()) return;  // announced before: the common case during a rotation
  std::string lines;
  for (const std::string& id : missing) lines += next_key_line(id, fingerprint);
  const std::string failure = append_known_lines(*path, lines);
  remark(remarks, "the server " + server.name + " announced its next key " + fingerprint + " (authenticated by its " +
                      "current key); " +
                      (failure.empty() ? "it is now pinned as the next key in " + display_path(*path, home)
                                       : "it could not be pinned: " + failure));
}

}  // namespace chat_cli
