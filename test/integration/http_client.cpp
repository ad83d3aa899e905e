#include "http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <sstream>
#include <stdexcept>

namespace chat_test {
namespace {

using steady = std::chrono::steady_clock;

std::chrono::milliseconds left_until(steady::time_point until) {
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(until - steady::now()));
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The head of a response (status line and headers) if `text` holds one, and where its body starts.
std::optional<std::pair<http_response, std::size_t>> parse_head(const std::string& text) {
  const auto end = text.find("\r\n\r\n");
  if (end == std::string::npos) return std::nullopt;
  http_response r;
  std::istringstream lines(text.substr(0, end));
  std::string line;
  std::getline(lines, line);
  if (line.rfind("HTTP/1.", 0) != 0 || line.size() < 12) throw std::runtime_error("not an HTTP response: " + line);
  r.status = std::stoi(line.substr(9, 3));
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    r.headers[lower(line.substr(0, colon))] = value;
  }
  return std::make_pair(std::move(r), end + 4);
}

}  // namespace

http_connection::http_connection(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<const sockaddr*>(&server), sizeof server) != 0) {
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error("cannot connect to the metrics port");
  }
}

http_connection::~http_connection() {
  ::close(fd_);
}

bool http_connection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::optional<http_response> http_connection::read_response(std::chrono::milliseconds timeout, bool head) {
  const auto until = steady::now() + timeout;
  for (;;) {
    if (auto parsed = parse_head(pending_)) {
      auto& [response, body_at] = *parsed;
      const auto length =
          response.headers.count("content-length") && !head ? std::stoull(response.headers.at("content-length")) : 0;
      if (pending_.size() >= body_at + length) {
        response.body = pending_.substr(body_at, length);
        pending_.erase(0, body_at + length);
        return std::move(response);
      }
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left_until(until).count())) <= 0) return std::nullopt;
    char buf[8192];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return std::nullopt;
    pending_.append(buf, static_cast<std::size_t>(n));
  }
}

bool http_connection::closed_within(std::chrono::milliseconds timeout) {
  const auto until = steady::now() + timeout;
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left_until(until).count())) <= 0) return false;
    char buf[8192];
    if (::recv(fd_, buf, sizeof buf, 0) <= 0) return true;
  }
}

std::optional<http_response> http_request(std::uint16_t port, const std::string& target, const std::string& method) {
  http_connection c(port);
  if (!c.send(method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")) return std::nullopt;
  return c.read_response(std::chrono::seconds(3), method == "HEAD");
}

std::map<std::string, double> parse_metrics(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) throw std::runtime_error("not a sample line: " + line);
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

}  // namespace chat_test
