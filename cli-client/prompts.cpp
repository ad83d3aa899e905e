#include "prompts.hpp"

#include "exit_codes.hpp"

#include <libchat/handshake.hpp>
#include <libchat/utf8.hpp>

#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include <termios.h>
#include <unistd.h>

namespace chat_cli {
namespace {

// The terminal settings to put back if a signal ends the program while echo is off. A signal
// handler can only reach them through a global; tcsetattr is async-signal-safe.
termios saved_termios;
volatile std::sig_atomic_t echo_is_off = 0;

extern "C" void restore_echo_and_die(int sig) {
  if (echo_is_off) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// Turns echo off for its lifetime, and puts it back on every way out: return, exception, or a
// SIGINT/SIGTERM/SIGHUP/SIGQUIT that would otherwise leave the terminal silent.
class echo_off {
 public:
  echo_off() {
    if (tcgetattr(STDIN_FILENO, &saved_termios) != 0) return;
    termios quiet = saved_termios;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;  // still show the newline after the password
    for (int sig : signals) previous_.push_back(std::signal(sig, restore_echo_and_die));
    echo_is_off = 1;
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) restore();
  }
  ~echo_off() { restore(); }
  echo_off(const echo_off&) = delete;
  echo_off& operator=(const echo_off&) = delete;

 private:
  static constexpr int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

  void restore() {
    if (!echo_is_off) return;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
    echo_is_off = 0;
    for (std::size_t i = 0; i < previous_.size(); ++i) std::signal(signals[i], previous_[i]);
    previous_.clear();
  }

  std::vector<void (*)(int)> previous_;
};

// Prompts go to stderr (as the shell's `read -p` does), so that stdout stays the chat transcript.
std::optional<std::string> ask(std::string_view prompt) {
  std::cerr << prompt << std::flush;
  std::string line;
  if (!std::getline(std::cin, line)) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::optional<std::string> ask_name(std::string_view prompt) {
  for (;;) {
    auto answer = ask(prompt);
    if (!answer) return std::nullopt;
    auto ec = libchat::check_name(*answer);
    if (!ec) return answer;
    std::cerr << "  " << ec.message() << "; try again\n";
  }
}

std::optional<libchat::operation> ask_operation() {
  for (;;) {
    auto answer = ask("Create or join a room? [c/j]: ");
    if (!answer) return std::nullopt;
    if (*answer == "c" || *answer == "create") return libchat::operation::create_room;
    if (*answer == "j" || *answer == "join") return libchat::operation::join_room;
    std::cerr << "  answer c (create) or j (join)\n";
  }
}

std::optional<std::string> ask_password() {
  for (;;) {
    std::optional<std::string> answer;
    {
      echo_off guard;
      answer = ask("Password (empty for none): ");
    }
    if (!answer) return std::nullopt;
    if (answer->size() <= libchat::max_password_bytes) return answer;
    std::cerr << "  at most " << libchat::max_password_bytes << " bytes; try again\n";
  }
}

int gave_up() {
  std::cerr << "\nchat-client: no answer; giving up\n";
  return exit_code::usage;
}

}  // namespace

std::optional<int> complete_interactively(client_options& o) {
  std::string missing;
  if (o.name.empty()) missing += " --name";
  if (!o.op) missing += " --create/--join";
  if (missing.empty()) return std::nullopt;
  if (!isatty(STDIN_FILENO)) {
    std::cerr << "chat-client: missing" << missing << " and standard input is not a terminal to ask on (see --help)\n";
    return exit_code::usage;
  }

  if (o.name.empty()) {
    auto name = ask_name("Your name: ");
    if (!name) return gave_up();
    o.name = *name;
  }
  if (!o.op) {
    auto op = ask_operation();
    if (!op) return gave_up();
    o.op = *op;
    auto room = ask_name("Room: ");
    if (!room) return gave_up();
    o.room = *room;
  }
  if (!o.password) {
    auto password = ask_password();
    if (!password) return gave_up();
    o.password = *password;
  }
  return std::nullopt;
}

}  // namespace chat_cli
