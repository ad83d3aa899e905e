// chat-server: flags → server → thread pool → exit code.
#include "config.hpp"
#include "server.hpp"
#include "server_identity.hpp"


#include <iostream>

int main(int argc, char* argv[]) {
  const auto parsed = chat_server::parse_command_line(argc, argv);
  if (!parsed.config) return parsed.exit_code;
  std::string problem;
  auto key = chat_server::load_or_create_server_key(parsed.config->key_file, problem);
  if (!key) {
    std::cerr << "chat-server: cannot start: " << problem << " (" << key.error().message() << ")\n";
    return 1;
  }
  if (key->created) std::cerr << "chat-server: created a new server key in " << parsed.config->key_file << "\n";
  try {
    chat_server::server server(*parsed.config, std::move(key->key));
    return server.run();
  } catch (const chat_server::startup_error& e) {
    // A port already in use, an address that is not one: say so and exit non-zero.
    std::cerr << "chat-server: " << e.what() << "\n";
    return 1;
  }
}
