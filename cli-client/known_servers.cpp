#include "known_servers.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace chat_cli {
namespace {

constexpr std::string_view fingerprint_prefix = "SHA256:";
constexpr std::size_t fingerprint_chars = 43;  // unpadded base64 of a 32-byte digest

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  return c == '+' ? 62 : 63;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    const std::size_t start = i;
    while (i < line.size() && !is_blank(line[i])) ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// "host:port" or "[v6]:port" with a port of 1-65535; the file may have been edited by hand.
bool is_server_field(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5) return false;
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value >= 1 && value <= 65535;
}

std::string system_error_text(int error) {
  return std::strerror(error);
}

}  // namespace

std::optional<std::string> normalise_fingerprint(std::string_view text) {
  if (!text.starts_with(fingerprint_prefix)) return std::nullopt;
  std::string_view digest = text.substr(fingerprint_prefix.size());
  if (digest.ends_with('=')) digest.remove_suffix(1);  // the padded spelling of the same digest
  if (digest.size() != fingerprint_chars) return std::nullopt;
  for (char c : digest)
    if (!is_base64_char(c)) return std::nullopt;
  // 43 characters carry 258 bits for 256: the last character's two low bits must be zero.
  if ((base64_value(digest.back()) & 0x3) != 0) return std::nullopt;
  return std::string(fingerprint_prefix) + std::string(digest);
}

std::string server_id(std::string_view host, std::uint16_t port) {
  const std::string name = lower_ascii(host);
  const bool v6 = name.find(':') != std::string::npos;
  return (v6 ? "[" + name + "]" : name) + ":" + std::to_string(port);
}

known_servers parse_known_servers(std::string_view text) {
  known_servers out;
  std::size_t number = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++number;
    if (line.ends_with('\r')) line.remove_suffix(1);
    const auto fields = fields_of(line);
    if (fields.empty() || fields[0].starts_with('#')) continue;
    const bool shape = fields.size() == 2 || (fields.size() > 2 && fields[2].starts_with('#'));
    auto fingerprint = shape ? normalise_fingerprint(fields[1]) : std::nullopt;
    if (!fingerprint || !is_server_field(fields[0])) {
      out.bad_lines.push_back(number);
      continue;
    }
    out.entries.push_back({lower_ascii(fields[0]), std::move(*fingerprint), number});
  }
  return out;
}

pin_check check_pin(const known_servers& file, std::string_view server, std::string_view fingerprint) {
  pin_check result;
  for (const known_server& entry : file.entries) {
    if (entry.server != server) continue;
    if (entry.fingerprint == fingerprint) return {pin_status::match, entry};
    if (result.status == pin_status::unknown) result = {pin_status::mismatch, entry};
  }
  return result;
}

std::string known_server_line(std::string_view server, std::string_view fingerprint) {
  return std::string(server) + " " + std::string(fingerprint) + "\n";
}

std::optional<std::string> default_known_servers_path(const char* xdg_config_home, const char* home) {
  // The XDG base directory spec: a relative XDG_CONFIG_HOME is invalid and must be ignored.
  if (xdg_config_home != nullptr && xdg_config_home[0] == '/')
    return std::string(xdg_config_home) + "/libchat/known_servers";
  if (home != nullptr && home[0] != '\0') {
    std::string base(home);
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    if (base == "/") base.clear();
    return base + "/.config/libchat/known_servers";
  }
  return std::nullopt;
}

std::string display_path(std::string_view path, const char* home) {
  if (home == nullptr || home[0] == '\0') return std::string(path);
  std::string_view base(home);
  while (base.size() > 1 && base.ends_with('/')) base.remove_suffix(1);
  if (base == "/") return std::string(path);
  if (path.size() > base.size() && path.starts_with(base) && path[base.size()] == '/')
    return "~" + std::string(path.substr(base.size()));
  return std::string(path);
}

std::optional<std::string> read_known_servers(const std::string& path, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::string();
    error = "cannot read the known-servers file " + path + ": " + system_error_text(errno);
    return std::nullopt;
  }
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      error = "cannot read the known-servers file " + path + ": " + system_error_text(errno);
      ::close(fd);
      return std::nullopt;
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

std::string append_known_server(const std::string& path, std::string_view server, std::string_view fingerprint) {
  // Every missing directory on the way, private to the user (as the XDG spec asks for).
  for (std::size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    const std::string directory = path.substr(0, slash);
    if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST)
      return "cannot create the directory " + directory + ": " + system_error_text(errno);
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot write the known-servers file " + path + ": " + system_error_text(errno);
  std::string text = known_server_line(server, fingerprint);
  struct stat info {};
  char last = '\n';
  if (::fstat(fd, &info) == 0 && info.st_size > 0 && ::pread(fd, &last, 1, info.st_size - 1) == 1 && last != '\n')
    text.insert(0, "\n");
  std::string_view rest = text;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      return "cannot write the known-servers file " + path + ": " + system_error_text(error);
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::close(fd) != 0) return "cannot write the known-servers file " + path + ": " + system_error_text(errno);
  return {};
}

}  // namespace chat_cli
