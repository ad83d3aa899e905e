#include "server_identity.hpp"

#include <boost/system/errc.hpp>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace chat_server {
namespace {

constexpr std::string_view file_tag = "libchat-server-key-v1 ";

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

std::optional<std::array<std::uint8_t, 32>> unhex(std::string_view text) {
  if (text.size() != 64) return std::nullopt;
  std::array<std::uint8_t, 32> out{};
  for (std::size_t i = 0; i < 32; ++i) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    const int hi = nibble(text[2 * i]), lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

boost::system::error_code last_error() { return {errno, boost::system::system_category()}; }

}  // namespace

std::string default_key_file() {
  if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state)
    return std::string(state) + "/chat-server/server.key";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.local/state/chat-server/server.key";
  return "chat-server.key";
}

boost::system::result<loaded_server_key> load_or_create_server_key(const std::string& path, std::string& problem) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0) {
      problem = "the key file " + path + " is readable by others; run: chmod 600 " + path;
      return boost::system::errc::make_error_code(boost::system::errc::permission_denied);
    }
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    std::string content = text.str();
    while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) content.pop_back();
    const auto bytes = content.starts_with(file_tag) ? unhex(std::string_view(content).substr(file_tag.size()))
                                                     : std::nullopt;
    auto key = bytes ? libchat::server_key::from_private(*bytes) : std::nullopt;
    if (!in || !key) {
      problem = "the key file " + path + " is not a chat-server key";
      return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
    }
    return loaded_server_key{std::move(*key), false};
  }
  if (errno != ENOENT) {
    problem = "cannot read the key file " + path;
    return last_error();
  }

  const auto directory = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!directory.empty()) {
    std::filesystem::create_directories(directory, ec);
    if (ec) {
      problem = "cannot create the directory " + directory.string();
      return boost::system::error_code(ec.value(), boost::system::system_category());
    }
    ::chmod(directory.c_str(), 0700);
  }
  auto key = libchat::server_key::generate();
  std::array<std::uint8_t, 32> secret{};
  key.save(secret);
  const std::string line = std::string(file_tag) + hex(secret) + "\n";
  std::fill(secret.begin(), secret.end(), std::uint8_t{0});
  // O_EXCL: never overwrite a key that appeared meanwhile; 0600 from the start, not chmod later.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    problem = "cannot create the key file " + path;
    return last_error();
  }
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) {
    problem = "cannot write the key file " + path;
    return last_error();
  }
  return loaded_server_key{std::move(key), true};
}

}  // namespace chat_server
