// chat-client: options → prompts → the server's key, checked against its pin (TCP) → encrypted
// handshake (TCP) → session (UDP) → exit code. --insecure skips the key and the sealing.
#include "exit_codes.hpp"
#include "handshake.hpp"
#include "json_mode.hpp"
#include "known_servers.hpp"
#include "options.hpp"
#include "plain_mode.hpp"
#include "prompts.hpp"
#include "server_trust.hpp"
#include "terminal.hpp"
#include "terminal_text.hpp"
#include "udp_session.hpp"

#include <boost/asio/io_context.hpp>

#include <langinfo.h>
#include <unistd.h>
#include <clocale>
#include <cstring>
#include <iostream>
#include <memory>

namespace {

using namespace chat_cli;

// The terminal view needs a UTF-8 locale to measure and draw text. Use the user's; if it is not
// UTF-8 (LANG=C), C.UTF-8, which every glibc system has.
void use_utf8_locale() {
  std::setlocale(LC_ALL, "");
  if (std::strcmp(nl_langinfo(CODESET), "UTF-8") != 0) std::setlocale(LC_CTYPE, "C.UTF-8");
}

constexpr std::string_view in_clear = "your messages, password and token travel in clear";

// The refusals a person can act on, in words that say what to do; nullopt for the others, which
// the server's own message explains.
std::optional<std::string> advice(const client_options& options, const handshake_error& error) {
  if (error.code == "no_server_key")
    return error.message + ". Use --insecure only if you accept that " + std::string(in_clear);
  if (error.what != handshake_error::kind::refused) return std::nullopt;
  if (error.refusal == libchat::tcrp_error::encryption_mismatch)
    return "the room '" + options.room + "' is not encrypted: join it with --insecure if you accept that " +
           std::string(in_clear);
  if (error.refusal == libchat::tcrp_error::encryption_required)
    return "the server refused an unencrypted session: run chat-client without --insecure (it said: " + error.message +
           ")";
  return std::nullopt;
}

// "No key here" (operation 3 refused) is what an old plaintext-only server says, and what anyone
// in the path says who wants the user to turn encryption off. From a server whose key this
// client knows, it is the latter: a failed handshake (exit 3), and no word of --insecure.
std::optional<handshake_error> unauthenticated_key_refusal(const client_options& options,
                                                           const handshake_error& error) {
  if (error.code != "no_server_key") return std::nullopt;
  const std::optional<std::string> pinned = pinned_fingerprint(options);
  if (!pinned) return std::nullopt;
  handshake_error suspicious = error;
  suspicious.what = handshake_error::kind::network;
  suspicious.unauthenticated = true;
  suspicious.message = "the server at " + server_id(options.host, options.port) +
                       " answered that it has no key, but its key is pinned (" + *pinned +
                       "): the reply could not be authenticated, so someone may be intercepting the connection. "
                       "Nothing secret was sent";
  return suspicious;
}

int report_handshake_error(const client_options& options, const handshake_error& original) {
  if (auto suspicious = unauthenticated_key_refusal(options, original)) {
    if (options.json) {
      print_json_handshake_error(*suspicious);
    } else {
      std::cerr << "chat-client: " << neutralise(suspicious->message) << '\n';
    }
    return exit_code::network;
  }
  const bool refused = original.what == handshake_error::kind::refused;
  handshake_error error = original;
  const std::optional<std::string> explained = advice(options, original);
  if (explained) error.message = *explained;
  if (options.json) {
    print_json_handshake_error(error);
  } else if (explained) {
    std::cerr << "chat-client: " << neutralise(error.message);
    if (refused) std::cerr << " (" << error.code << ", " << libchat::http_status(error.refusal) << ")";
    std::cerr << '\n';
  } else if (refused) {
    std::cerr << "chat-client: the server refused: " << neutralise(error.message) << " (" << error.code << ", "
              << libchat::http_status(error.refusal) << ")\n";
  } else {
    std::cerr << "chat-client: " << neutralise(error.message) << '\n';
  }
  return refused ? exit_code::refused : exit_code::network;
}

int run(int argc, char** argv) {
  use_utf8_locale();
  parsed_options parsed = parse_options(argc, argv);
  if (parsed.exit_now) return *parsed.exit_now;
  client_options& options = parsed.options;
  if (auto code = complete_interactively(options)) return *code;

  boost::asio::io_context io;
  handshake_request request;
  request.host = options.host;
  request.port = options.port;
  request.op = *options.op;
  request.room = options.room;
  request.payload.username = options.name;
  if (options.password && !options.password->empty()) request.payload.password = *options.password;
  request.timeout = options.handshake_timeout;

  // Encrypted (the default): fetch the server's key and check it against the pin before anything
  // secret is sent; the handshake is then sealed to that key.
  std::vector<std::string> remarks;
  std::string fingerprint;
  pinned_server pinned;
  if (options.insecure) {
    remarks.push_back("warning: --insecure: nothing is encrypted; " + std::string(in_clear) +
                      ", and anyone on the network can read or alter them");
    std::cerr << "chat-client: " << remarks.back() << '\n';
  } else {
    key_outcome fetched = fetch_server_key(io, request);
    if (auto* error = std::get_if<handshake_error>(&fetched)) return report_handshake_error(options, *error);
    const fetched_key& got = std::get<fetched_key>(fetched);
    const libchat::public_key& key = got.key;
    pinned.name = server_id(options.host, options.port);
    // The address as the file names it: an IPv4-mapped IPv6 address is its IPv4 one.
    auto address = got.address;
    if (address.is_v6() && address.to_v6().is_v4_mapped())
      address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
    pinned.address = server_id(address.to_string(), options.port);
    if (auto code = trust_server_key(options, key, pinned, remarks)) return *code;
    request.server_key = key;
    fingerprint = libchat::key_fingerprint(key);
  }

  handshake_outcome outcome = run_handshake(io, request);
  if (auto* error = std::get_if<handshake_error>(&outcome)) return report_handshake_error(options, *error);

  session_params params;
  params.grant = std::get<session_grant>(std::move(outcome));
  if (params.grant.next_key && request.server_key && *params.grant.next_key != *request.server_key)
    record_next_key(options, pinned, *params.grant.next_key, remarks);
  params.info = {options.room,
                 options.name,
                 options.server,
                 params.grant.host,
                 params.grant.created,
                 params.grant.udp_endpoint.port(),
                 params.grant.channel != nullptr,
                 fingerprint};
  params.keepalive = options.keepalive;
  params.commands = !options.json;

  std::unique_ptr<frontend> view;
  if (options.json) {
    view = std::make_unique<json_view>(io.get_executor());
  } else if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
    auto screen = std::make_unique<terminal_view>(io, options.server, options.room, options.name, params.grant.host);
    if (screen->open()) {
      // The full screen hides what was printed before it: show the remarks again there.
      for (const std::string& text : remarks) screen->info(text);
      view = std::move(screen);
    } else {
      std::cerr << "chat-client: cannot use this terminal (TERM?); using plain lines\n";
    }
  }
  if (!view) view = std::make_unique<plain_view>(io.get_executor(), options.name);

  udp_session session(io, std::move(params), *view);
  session.start();
  io.run();
  if (session.dropped() > 0 && !options.json)
    std::cerr << "chat-client: " << session.dropped()
              << " datagram(s) from the server were dropped (malformed, or failing authentication)\n";
  return session.exit_code();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // Network and protocol failures never get here (they are error codes): this is a bug, or
    // memory ran out. Unwinding has already given the terminal back.
    std::cerr << "chat-client: internal error: " << e.what() << '\n';
    return exit_code::internal;
  }
}
