// One TCRP exchange on one TCP connection. Every rule of the exchange is libchat::server_exchange's;
// this driver carries out what it asks for: reads and writes on the socket under one deadline,
// password hashes on the hash workers, lookups in the room table, admissions on a room's strand,
// and the graceful close. It logs the outcome and names no refusal itself.
//
// Written with completion handlers rather than coroutines: GCC 12 miscompiles parts of coroutine
// bodies (temporaries destroyed twice), and this is the server's front door.
#pragma once

#include "libchat/server_exchange.hpp"
#include "handshake_services.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace chat_server {

class room_host;

class handshake_connection : public std::enable_shared_from_this<handshake_connection> {
 public:
  /// `how`: whether the listener let the connection in, or only lets it be told server_busy or
  /// rate_limited (it is then read with a short deadline, answered, and closed).
  handshake_connection(handshake_services& services, boost::asio::ip::tcp::socket socket, const libchat::ip_address& ip,
                       libchat::door how);
  ~handshake_connection();

  void start();

 private:
  void execute(const libchat::server_action& action);
  void read(libchat::mutable_byte_view into);
  void write(libchat::byte_view bytes);
  void find_room(std::string_view name);
  void check_room();
  void hash_password(std::string_view password, double budget_left);
  void verify_password(std::string_view password, const libchat::password_hash& stored, double budget_left);
  /// Queues a hash job on the workers; a refused one comes back at once as `refused`.
  void submit_hash(double budget_left, std::function<void()> hash_then_come_back, std::function<void()> refused);
  void create_room(const libchat::admission_request& request);
  void admit(const libchat::admission_request& request);
  /// Runs `f` on this connection's executor (from a room strand or a hash worker).
  void come_back(std::function<void()> f);
  /// The socket failed or the deadline closed it: the exchange ends here.
  void fail();
  /// Logs the outcome and counts it (and, for a handshake let in, how long it took).
  void log_outcome();
  void close_gracefully();
  void drain();
  void arm_deadline(std::chrono::milliseconds after);

  handshake_services& services_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer deadline_;
  libchat::door door_;
  std::chrono::steady_clock::time_point accepted_ = std::chrono::steady_clock::now();
  libchat::ip_address ip_;
  std::string peer_;  // for logs
  libchat::server_exchange exchange_;
  std::shared_ptr<room_host> room_;  // the room find_room found, for a join
  /// Set when the connection is over (failed, timed out, or closed): a hash job still queued for
  /// it is skipped instead of spending a worker on an answer nobody will read.
  std::shared_ptr<std::atomic<bool>> gone_ = std::make_shared<std::atomic<bool>>(false);
  /// The hash job waiting on the workers, if any (0: none): cancelled when the connection ends,
  /// so that its slot in the queue and the address's hash slot free at once.
  std::uint64_t hash_ticket_ = 0;
  std::array<char, 4096> discard_{};
  std::size_t drained_ = 0;
};

}  // namespace chat_server
