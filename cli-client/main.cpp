// chat-client: options → prompts → handshake (TCP) → session (UDP) → exit code.
#include "exit_codes.hpp"
#include "handshake.hpp"
#include "json_mode.hpp"
#include "options.hpp"
#include "plain_mode.hpp"
#include "prompts.hpp"
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

int report_handshake_error(const client_options& options, const handshake_error& error) {
  const bool refused = error.what == handshake_error::kind::refused;
  if (options.json) {
    print_json_handshake_error(error);
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

  handshake_outcome outcome = run_handshake(io, request);
  if (auto* error = std::get_if<handshake_error>(&outcome)) return report_handshake_error(options, *error);

  session_params params;
  params.grant = std::get<session_grant>(std::move(outcome));
  params.info = {options.room,      options.name,         options.server,
                 params.grant.host, params.grant.created, params.grant.udp_endpoint.port()};
  params.keepalive = options.keepalive;
  params.commands = !options.json;

  std::unique_ptr<frontend> view;
  if (options.json) {
    view = std::make_unique<json_view>(io.get_executor());
  } else if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
    auto screen = std::make_unique<terminal_view>(io, options.server, options.room, options.name, params.grant.host);
    if (screen->open()) {
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
    std::cerr << "chat-client: " << session.dropped() << " malformed datagram(s) from the server were dropped\n";
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
