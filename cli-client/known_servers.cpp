#include "known_servers.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace chat_cli {
namespace {

constexpr std::string_view fingerprint_prefix = "SHA256:";
constexpr std::string_view next_marker = "@next";
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
    auto fields = fields_of(line);
    if (fields.empty() || fields[0].starts_with('#')) continue;
    const bool next = fields[0] == next_marker;
    if (next) fields.erase(fields.begin());
    const bool shape = fields.size() == 2 || (fields.size() > 2 && fields[2].starts_with('#'));
    auto fingerprint = shape ? normalise_fingerprint(fields[1]) : std::nullopt;
    if (!fingerprint || !is_server_field(fields[0])) {
      out.bad_lines.push_back(number);
      continue;
    }
    out.entries.push_back({lower_ascii(fields[0]), std::move(*fingerprint), number, next});
  }
  return out;
}

pin_check check_pin(const known_servers& file, std::string_view server, std::string_view fingerprint) {
  pin_check result;
  for (const known_server& entry : file.entries) {
    if (entry.server != server || entry.next) continue;
    if (entry.fingerprint == fingerprint) return {pin_status::match, entry};
    if (result.status == pin_status::unknown) result = {pin_status::mismatch, entry};
  }
  return result;
}

namespace {

bool has_next_pin(const known_servers& file, std::string_view server, std::string_view fingerprint) {
  for (const known_server& entry : file.entries)
    if (entry.next && entry.server == server && entry.fingerprint == fingerprint) return true;
  return false;
}

}  // namespace

trust_decision decide_trust(const known_servers& file, std::string_view name, std::string_view address,
                            std::string_view fingerprint) {
  const bool by_address = !address.empty() && address != name;
  const pin_check named = check_pin(file, name, fingerprint);
  const auto announced = [&] {
    return has_next_pin(file, name, fingerprint) || (by_address && has_next_pin(file, address, fingerprint));
  };
  trust_decision d;
  if (named.status == pin_status::match) {
    d.verdict = trust_verdict::known;
    if (by_address) {
      const pin_check at = check_pin(file, address, fingerprint);
      if (at.status == pin_status::unknown) d.to_pin.emplace_back(address);
      if (at.status == pin_status::mismatch) d.address_conflict = at.pinned;
    }
    return d;
  }
  if (announced()) {
    // The key the pinned one vouched for: the rotation is done, the old pins go.
    d.verdict = trust_verdict::rotated;
    d.to_pin.emplace_back(name);
    if (by_address) d.to_pin.emplace_back(address);
    return d;
  }
  if (named.status == pin_status::mismatch) return {trust_verdict::mismatch, named.pinned, {}, std::nullopt};
  const pin_check at = by_address ? check_pin(file, address, fingerprint) : pin_check{};
  switch (at.status) {
    case pin_status::match: return {trust_verdict::known_by_address, {}, {std::string(name)}, std::nullopt};
    case pin_status::mismatch: return {trust_verdict::address_mismatch, at.pinned, {}, std::nullopt};
    case pin_status::unknown: break;
  }
  d.verdict = trust_verdict::first_contact;
  d.to_pin.emplace_back(name);
  if (by_address) d.to_pin.emplace_back(address);
  return d;
}

std::string known_server_line(std::string_view server, std::string_view fingerprint) {
  return std::string(server) + " " + std::string(fingerprint) + "\n";
}

std::string next_key_line(std::string_view server, std::string_view fingerprint) {
  return std::string(next_marker) + " " + known_server_line(server, fingerprint);
}

std::string rotated_text(std::string_view text, const known_servers& file, const std::vector<std::string>& servers,
                         std::string_view fingerprint) {
  const auto concerned = [&](const known_server& e) {
    for (const std::string& s : servers)
      if (e.server == s) return true;
    return false;
  };
  std::vector<bool> drop;
  std::vector<std::string> pinned;  // the servers that keep a pin of `fingerprint` as it is
  for (const known_server& entry : file.entries) {
    if (!concerned(entry)) continue;
    if (!entry.next && entry.fingerprint == fingerprint) {
      pinned.push_back(entry.server);
      continue;
    }
    if (drop.size() < entry.line) drop.resize(entry.line, false);
    drop[entry.line - 1] = true;
  }
  std::string out;
  std::size_t number = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++number;
    if (number <= drop.size() && drop[number - 1]) continue;
    out.append(line);
    out.push_back('\n');
  }
  for (const std::string& server : servers)
    if (std::find(pinned.begin(), pinned.end(), server) == pinned.end()) out += known_server_line(server, fingerprint);
  return out;
}

std::vector<std::string> missing_next_pins(const known_servers& file, const std::vector<std::string>& servers,
                                           std::string_view fingerprint) {
  std::vector<std::string> missing;
  for (const std::string& server : servers) {
    bool held = false;
    for (const known_server& entry : file.entries)
      held = held || (entry.server == server && entry.fingerprint == fingerprint);
    if (!held) missing.push_back(server);
  }
  return missing;
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
    // Absent, or a part of its path is not a directory: nothing is pinned there (yet); a first
    // contact then fails to pin, and says so.
    if (errno == ENOENT || errno == ENOTDIR) return std::string();
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

namespace {

// Every missing directory on the way, private to the user (as the XDG spec asks for).
std::string make_directories(const std::string& path) {
  for (std::size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    const std::string directory = path.substr(0, slash);
    if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST)
      return "cannot create the directory " + directory + ": " + system_error_text(errno);
  }
  return {};
}

std::string write_all(int fd, std::string_view rest) {
  while (!rest.empty()) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return system_error_text(n < 0 ? errno : EIO);
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

std::string append_known_server(const std::string& path, std::string_view server, std::string_view fingerprint) {
  return append_known_lines(path, known_server_line(server, fingerprint));
}

std::string replace_known_servers(const std::string& path, std::string_view text) {
  const std::string temporary = path + "." + std::to_string(::getpid()) + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot write the known-servers file " + path + ": " + system_error_text(errno);
  std::string failure = write_all(fd, text);
  if (::fsync(fd) != 0 && failure.empty()) failure = system_error_text(errno);
  if (::close(fd) != 0 && failure.empty()) failure = system_error_text(errno);
  if (failure.empty() && ::rename(temporary.c_str(), path.c_str()) != 0) failure = system_error_text(errno);
  if (failure.empty()) return {};
  ::unlink(temporary.c_str());
  return "cannot write the known-servers file " + path + ": " + failure;
}

std::string append_known_lines(const std::string& path, std::string_view lines) {
  if (std::string failure = make_directories(path); !failure.empty()) return failure;
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot write the known-servers file " + path + ": " + system_error_text(errno);
  std::string text(lines);
  struct stat info {};
  char last = '\n';
  if (::fstat(fd, &info) == 0 && info.st_size > 0 && ::pread(fd, &last, 1, info.st_size - 1) == 1 && last != '\n')
    text.insert(0, "\n");
  if (std::string failure = write_all(fd, text); !failure.empty()) {
    ::close(fd);
    return "cannot write the known-servers file " + path + ": " + failure;
  }
  if (::close(fd) != 0) return "cannot write the known-servers file " + path + ": " + system_error_text(errno);
  return {};
}

}  // namespace chat_cli
