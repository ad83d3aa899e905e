// chat-server: flags → server → thread pool → exit code.
#include "config.hpp"
#include "server.hpp"

#include <boost/system/system_error.hpp>

#include <iostream>

int main(int argc, char* argv[]) {
  const auto parsed = chat_server::parse_command_line(argc, argv);
  if (!parsed.config) return parsed.exit_code;
  try {
    chat_server::server server(*parsed.config);
    return server.run();
  } catch (const boost::system::system_error& e) {
    // Start-up failures such as a port already in use: say so and exit non-zero.
    std::cerr << "chat-server: cannot start: " << e.what() << "\n";
    return 1;
  }
}
