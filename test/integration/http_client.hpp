// A bare HTTP/1.1 client on a plain TCP socket, for testing the metrics endpoint: it writes
// whatever bytes a test gives it (half a request, an oversized one) and reads responses framed by
// Content-Length. Also a parser for the Prometheus text the endpoint serves.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace chat_test {

struct http_response {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< names in lower case
  std::string body;
};

class http_connection {
 public:
  /// Connects to 127.0.0.1:port; throws if it cannot.
  explicit http_connection(std::uint16_t port);
  ~http_connection();
  http_connection(const http_connection&) = delete;
  http_connection& operator=(const http_connection&) = delete;

  /// Writes all of `bytes`; false if the connection refused them (closed, reset).
  bool send(std::string_view bytes);
  /// The next response; nullopt if none is complete within `timeout` or the connection ended first.
  /// `head`: the request was HEAD, so the response has no body whatever its Content-Length says.
  std::optional<http_response> read_response(std::chrono::milliseconds timeout = std::chrono::seconds(3),
                                             bool head = false);
  /// True if the server ends the connection (end of stream or reset) within `timeout`; bytes that
  /// arrive meanwhile are discarded.
  bool closed_within(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  std::string pending_;  // received, not yet part of a returned response
};

/// A whole GET (or another method) on a connection of its own, with Connection: close.
std::optional<http_response> http_request(std::uint16_t port, const std::string& target = "/metrics",
                                          const std::string& method = "GET");

/// Sample lines of a Prometheus text exposition, by series: "name" or "name{label=\"value\"}".
/// Comment lines are skipped.
std::map<std::string, double> parse_metrics(const std::string& text);

}  // namespace chat_test
