#include "options.hpp"

#include "exit_codes.hpp"
#include "known_servers.hpp"

#include <libchat/handshake.hpp>
#include <libchat/utf8.hpp>

#include <boost/program_options.hpp>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iostream>

namespace chat_cli {
namespace {

namespace po = boost::program_options;

constexpr std::string_view usage_text = R"(Usage: chat-client [options]

Joins or creates a chat room on a chat-server. What the flags leave out (name, create or join,
room, password) is asked on the terminal.

Example:
  chat-client --server 127.0.0.1:9000 --create lobby --name alice
  chat-client --join lobby --name bob --password-env LOBBY_PASSWORD
  printf 'hello\n' | chat-client --join lobby --name bot --json
  chat-client --join lobby --name carol --server-key SHA256:SpYkfOWxRjQgA0HJnAbdprnpgEaT9BMb7hUWdnOmdOA

Options)";

constexpr std::string_view modes_text = R"(
Modes:
  On a terminal chat-client shows a full-screen view: messages above, the line you type below.
  When standard input or output is not a terminal it reads lines from stdin and prints
  "[HH:MM:SS] name: text" lines. --json prints one JSON object per event instead.

Encryption:
  What goes between chat-client and the server is encrypted by default: your name and password,
  the server's answer and token, and every message (the server itself reads messages, to relay
  them). First chat-client asks the server for its public key and checks it, as SSH does:
  the first time it talks to a server it pins the key's fingerprint in the known-servers file
  ($XDG_CONFIG_HOME/libchat/known_servers, else ~/.config/libchat/known_servers; lines
  "HOST:PORT SHA256:...", one for the name you gave and one for the address it resolved to) and
  says so; if it cannot write the file it stops (exit status 5) unless --accept-unpinned. Later,
  a server that presents another key than the one pinned for its name, or a new name whose
  address is pinned to another key, is refused before anything secret is sent (exit status 3):
  someone may be intercepting the connection, or the server's key was replaced. If you trust the
  change, delete the line the message names. A server that rotates its key announces the next
  one inside the encrypted handshake; chat-client pins it as "@next HOST:PORT SHA256:..." and
  accepts it once the server uses it. chat-server prints its fingerprint when it starts; give it
  with --server-key to check it without the file.

Commands (interactive and plain modes):
  /quit, /leave  leave the room;  /who  list who is in the room;  /help  list commands;
  //text  send "/text". With --json every line is a message; the server's "members" notice
  (who was in the room when you joined) and "joined"/"left" come as notice events.

When the room ends (the host left, you timed out, the server stopped or went silent), the
full-screen view gives the terminal back and prints the conversation on the normal screen,
so that it stays in the terminal's scrollback.

Exit status:
  0  you left the room (/quit, end of input, Ctrl-C)
  1  the server refused the request (room exists, no such room, wrong password, ...)
  2  usage error (bad flag, or something missing and no terminal to ask on; or the
     known-servers file cannot be read)
  3  network error (cannot connect, handshake timeout, malformed reply, no answer on UDP), or
     the server's key is not the pinned one, or its reply could not be authenticated
  4  the server ended the session (room closed, you timed out, server shutdown, server silent;
     or the session key is used up: join again)
  5  the server is new but its key could not be pinned (the known-servers file cannot be
     written); --accept-unpinned goes on without the pin
 70  internal error in chat-client
)";

void fail_usage(std::string_view what) {
  std::cerr << "chat-client: " << what << " (see --help)\n";
}

std::optional<std::string> read_password_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read --password-file " + path;
    return std::nullopt;
  }
  std::string line;
  std::getline(in, line);  // first line; getline drops the newline
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// Applies the parsed map to `o`; returns an error sentence, or empty when all is well.
std::string apply_flags(const po::variables_map& vm, client_options& o) {
  o.server = vm["server"].as<std::string>();
  if (!split_host_port(o.server, o.host, o.port)) return "--server must be HOST:PORT with PORT 1-65535";

  if (vm.count("create") && vm.count("join")) return "--create and --join exclude each other";
  if (vm.count("create")) o.op = libchat::operation::create_room, o.room = vm["create"].as<std::string>();
  if (vm.count("join")) o.op = libchat::operation::join_room, o.room = vm["join"].as<std::string>();
  if (o.op) {
    if (auto ec = libchat::check_name(o.room)) return "invalid room name: " + ec.message();
  }
  if (vm.count("name")) {
    o.name = vm["name"].as<std::string>();
    if (auto ec = libchat::check_name(o.name)) return "invalid --name: " + ec.message();
  }

  if (vm.count("password-file") && vm.count("password-env"))
    return "--password-file and --password-env exclude each other";
  if (vm.count("password-file")) {
    std::string error;
    o.password = read_password_file(vm["password-file"].as<std::string>(), error);
    if (!o.password) return error;
  }
  if (vm.count("password-env")) {
    const std::string var = vm["password-env"].as<std::string>();
    const char* value = std::getenv(var.c_str());
    if (value == nullptr) return "the environment variable " + var + " (--password-env) is not set";
    o.password = value;
  }
  if (o.password && o.password->size() > libchat::max_password_bytes)
    return "the password is longer than " + std::to_string(libchat::max_password_bytes) + " bytes";

  o.json = vm["json"].as<bool>();
  o.insecure = vm["insecure"].as<bool>();
  if (vm.count("server-key")) {
    if (o.insecure) return "--server-key and --insecure exclude each other";
    o.server_key = normalise_fingerprint(vm["server-key"].as<std::string>());
    if (!o.server_key)
      return "--server-key must be a fingerprint as chat-server prints it: SHA256: and 43 base64 characters";
  }
  o.accept_unpinned = vm["accept-unpinned"].as<bool>();
  if (o.accept_unpinned && o.insecure) return "--accept-unpinned and --insecure exclude each other";
  if (vm.count("known-servers")) {
    if (o.insecure) return "--known-servers and --insecure exclude each other";
    if (o.server_key) return "--known-servers and --server-key exclude each other";
    o.known_servers = vm["known-servers"].as<std::string>();
    if (o.known_servers->empty()) return "--known-servers needs a file name";
  }
  const int keepalive = vm["keepalive"].as<int>();
  const int timeout = vm["handshake-timeout"].as<int>();
  if (keepalive < 1 || keepalive > 3600) return "--keepalive must be 1-3600 seconds";
  if (timeout < 1 || timeout > 600) return "--handshake-timeout must be 1-600 seconds";
  o.keepalive = std::chrono::seconds(keepalive);
  o.handshake_timeout = std::chrono::seconds(timeout);
  return {};
}

}  // namespace

bool split_host_port(std::string_view text, std::string& host, std::uint16_t& port) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view h = text.substr(0, colon);
  const std::string_view p = text.substr(colon + 1);
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') return false;
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string_view::npos) {
    return false;  // a bare IPv6 address is ambiguous: it needs brackets
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || end != p.data() + p.size() || p.empty() || value < 1 || value > 65535) return false;
  host = std::string(h);
  port = static_cast<std::uint16_t>(value);
  return true;
}

parsed_options parse_options(int argc, const char* const argv[]) {
  po::options_description desc{std::string(usage_text), 100, 50};
  // clang-format off
  desc.add_options()
    ("server", po::value<std::string>()->value_name("HOST:PORT")->default_value("127.0.0.1:9000"),
     "the chat-server to use (IPv6: [ADDR]:PORT)")
    ("create", po::value<std::string>()->value_name("ROOM"), "create the room ROOM and be its host")
    ("join", po::value<std::string>()->value_name("ROOM"), "join the existing room ROOM")
    ("name", po::value<std::string>()->value_name("NAME"), "your username in the room")
    ("password-file", po::value<std::string>()->value_name("FILE"),
     "the room password is the first line of FILE (when creating: protects the room)")
    ("password-env", po::value<std::string>()->value_name("VAR"),
     "the room password is the value of the environment variable VAR")
    ("server-key", po::value<std::string>()->value_name("SHA256:..."),
     "the server must present the key with this fingerprint (as chat-server prints it at start-up); "
     "the known-servers file is then not used")
    ("known-servers", po::value<std::string>()->value_name("FILE"),
     "where server keys are pinned (default: $XDG_CONFIG_HOME/libchat/known_servers, else "
     "~/.config/libchat/known_servers)")
    ("accept-unpinned", po::bool_switch(),
     "on first contact, go on even if the key cannot be pinned (the known-servers file cannot be "
     "written): it will not be checked next time. Without it chat-client refuses (exit status 5)")
    ("insecure", po::bool_switch(), "do not encrypt: the old plaintext protocol, for trusted networks and servers "
     "started with --allow-plaintext. Your messages, password and token travel in clear")
    ("json", po::bool_switch(), "machine mode: each stdin line is a message; each event is one JSON "
     "object per line on stdout")
    ("keepalive", po::value<int>()->value_name("SECONDS")->default_value(15),
     "send a keepalive this often, so that a member who only reads stays in the room")
    ("handshake-timeout", po::value<int>()->value_name("SECONDS")->default_value(5),
     "give up when the server has not completed the handshake within this time")
    ("help,h", "show this help and exit")
    ("version", "show the version and exit");
  // clang-format on

  parsed_options out;
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {  // a bad command line, reported as a usage error
    fail_usage(e.what());
    out.exit_now = exit_code::usage;
    return out;
  }
  if (vm.count("help")) {
    std::cout << desc << modes_text
              << "\nWithout --password-file/--password-env, a password is asked only when something\n"
                 "else is asked too; with --create/--join and --name all given, none is used.\n";
    out.exit_now = 0;
    return out;
  }
  if (vm.count("version")) {
    std::cout << "chat-client " << CHAT_CLIENT_VERSION << '\n';
    out.exit_now = 0;
    return out;
  }
  if (std::string error = apply_flags(vm, out.options); !error.empty()) {
    fail_usage(error);
    out.exit_now = exit_code::usage;
  }
  return out;
}

}  // namespace chat_cli
