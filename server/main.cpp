// chat-server: flags → server → thread pool → exit code.
#include "config.hpp"
#include "server.hpp"
#include "server_identity.hpp"

#include <iostream>
#include <optional>

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
  std::optional<libchat::public_key> next_key;
  if (const std::string& next_file = parsed.config->next_key_file; !next_file.empty()) {
    auto next = chat_server::load_or_create_server_key(next_file, problem);
    if (!next) {
      std::cerr << "chat-server: cannot start: " << problem << " (" << next.error().message() << ")\n";
      return 1;
    }
    if (next->key.public_half() == key->key.public_half()) {
      std::cerr << "chat-server: cannot start: --next-key-file " << next_file
                << " holds the same key as --key-file; a rotation needs a new key\n";
      return 1;
    }
    if (next->created) std::cerr << "chat-server: created the next server key in " << next_file << "\n";
    next_key = next->key.public_half();
  }
  try {
    chat_server::server server(*parsed.config, std::move(key->key), next_key);
    return server.run();
  } catch (const chat_server::startup_error& e) {
    // A port already in use, an address that is not one: say so and exit non-zero.
    std::cerr << "chat-server: " << e.what() << "\n";
    return 1;
  }
}
