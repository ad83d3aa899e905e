// One TCRP exchange on one connection. Every rule of the exchange is libchat::server_exchange's;
// this driver carries out what it asks for: reads and writes on its transport (the client's TCP
// connection, or a request another cluster node forwarded) under one deadline, password hashes on
// the hash workers, lookups in the room table (and in cluster mode the room directory), admissions
// on a room's strand, and the graceful close. A join for a room homed on another node is forwarded
// there whole, and that node's frames are written back. It logs the outcome and names no refusal
// itself.
//
// Written with completion handlers rather than coroutines: GCC 12 miscompiles parts of coroutine
// bodies (temporaries destroyed twice), and this is the server's front door.
#pragma once

#include "cluster/cluster_node.hpp"
#include "handshake_services.hpp"
#include "handshake_transport.hpp"
#include "libchat/server_exchange.hpp"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chat_server {

class room_host;

class handshake_connection : public std::enable_shared_from_this<handshake_connection>, public cluster::forward_sink {
 public:
  /// `how`: whether the listener let the connection in, or only lets it be told server_busy or
  /// rate_limited (it is then read with a short deadline, answered, and closed).
  handshake_connection(handshake_services& services, std::shared_ptr<handshake_transport> transport,
                       const libchat::ip_address& ip, libchat::door how);
  ~handshake_connection() override;

  void start();
  /// A forwarded request's frame from the room's home node (from a NATS thread).
  void on_frame(std::vector<std::uint8_t> bytes, bool last) override;

 private:
  void execute(const libchat::server_action& action);
  void read(libchat::mutable_byte_view into);
  void write(libchat::byte_view bytes, bool last);
  /// A join read but not opened: forwarded whole if its room lives on another node (cluster mode).
  void route(std::string_view name);
  void find_room(std::string_view name);
  /// Answers the exchange's lookup from the local table (and the directory's `unavailable`).
  void answer_lookup(bool found_elsewhere, bool unavailable);
  void on_directory(const cluster::directory_answer& answer);
  /// Hands the request to the room's home node; if it is not taken, this node runs it.
  void forward_to(const std::string& node);
  void on_forward_answer(const std::string& node, cluster::forward_answer answer);
  void write_forwarded();
  /// While forwarded: the deadline holds the connection until the last frame is written.
  void hold_until_deadline();
  void check_room();
  void hash_password(std::string_view password, double budget_left);
  void verify_password(std::string_view password, const libchat::password_hash& stored, double budget_left);
  /// Queues a hash job on the workers; a refused one comes back at once as `refused`.
  void submit_hash(double budget_left, std::function<void()> hash_then_come_back, std::function<void()> refused);
  void create_room(const libchat::admission_request& request);
  /// Creates the room here once the directory holds its name for this node (revision: the entry's).
  void create_local(const libchat::admission_request& request, std::uint64_t revision);
  void admit(const libchat::admission_request& request);
  /// Runs `f` on this connection's executor (from a room strand or a hash worker).
  void come_back(std::function<void()> f);
  /// The socket failed or the deadline closed it: the exchange ends here.
  void fail();
  /// Logs the outcome and counts it (and, for a handshake let in, how long it took).
  void log_outcome();
  void close_gracefully();
  void arm_deadline(std::chrono::milliseconds after);

  handshake_services& services_;
  std::shared_ptr<handshake_transport> transport_;
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
  // Cluster mode: the request as read (to forward it whole), and once forwarded, the home node's
  // frames still to write.
  std::vector<std::uint8_t> request_bytes_;
  std::string forward_id_;
  std::optional<cluster::directory_answer> directory_answer_;  // what route learnt, for find_room

  bool forwarded_ = false;
  bool writing_ = false;
  std::deque<std::pair<std::vector<std::uint8_t>, bool>> forwarded_frames_;
};

}  // namespace chat_server
