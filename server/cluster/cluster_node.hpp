// This chat-server's part in a cluster (docs/cluster.md), on NATS through libnats: the room
// directory in JetStream KV buckets (name → home node), the nodes' heartbeats, and handshakes
// forwarded to a room's home node over request/reply. libnats runs its own threads; every call
// that waits on NATS runs on this object's workers, and every answer goes to a callback that the
// caller posts back onto its own executor. Nothing here touches a room or a socket.
#pragma once

#include "cluster_settings.hpp"
#include "directory_record.hpp"
#include "liveness.hpp"

#include "libchat/address.hpp"
#include "libchat/bytes.hpp"

#include <spdlog/logger.h>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace chat_server::cluster {

struct directory_answer {
  enum class kind : std::uint8_t {
    absent,       ///< no live room of that name anywhere
    here,         ///< the directory says this node (the room may still be being created)
    elsewhere,    ///< `node` holds it
    unavailable,  ///< NATS cannot be asked now
  };
  kind what = kind::unavailable;
  std::string node;
};

struct claim_answer {
  enum class kind : std::uint8_t { claimed, exists, unavailable };
  kind what = kind::unavailable;
  std::uint64_t revision = 0;  ///< claimed: the entry's revision, which its release must name
};

enum class forward_answer : std::uint8_t {
  accepted,     ///< the home node runs the exchange; frames follow on the sink
  no_home,      ///< nobody listens for that node (it is gone)
  unavailable,  ///< no answer in time, or NATS cannot be asked now
};

/// The front node's end of a forwarded handshake: the home node's reply frames, from a NATS thread.
class forward_sink {
 public:
  virtual ~forward_sink() = default;
  /// `last`: the exchange is over; empty and last: it ended without a further answer.
  virtual void on_frame(std::vector<std::uint8_t> bytes, bool last) = 0;
};

/// The home node's end: a request forwarded by another node, to be run like a local connection.
/// `reply(bytes, last)` sends one frame back (from any thread).
using reply_function = std::function<void(libchat::byte_view, bool)>;
using forwarded_handler =
    std::function<void(std::vector<std::uint8_t> request, const libchat::ip_address& client, reply_function reply)>;

class cluster_node {
 public:
  /// Starts connecting (in the background: a node whose NATS is not up yet waits for it, and
  /// answers server_busy meanwhile). Throws std::runtime_error for settings libnats refuses.
  cluster_node(settings s, spdlog::logger& log);
  ~cluster_node();
  cluster_node(const cluster_node&) = delete;
  cluster_node& operator=(const cluster_node&) = delete;

  /// Subscribes to forwarded requests and starts the heartbeats. `on_directory_back` runs (on a
  /// worker) each time the directory is ready again after the NATS connection was lost: the
  /// server then re-checks its rooms' entries (reclaim).
  void start(forwarded_handler on_forwarded, std::function<void()> on_directory_back);
  /// Stops the heartbeats and the subscriptions, waits for queued directory work (releases of
  /// rooms that closed), and closes the connection.
  void stop();

  /// Connected to NATS with the directory's buckets ready.
  bool ready() const noexcept { return ready_.load(std::memory_order_acquire); }

  /// Where `room` lives. An entry whose home is dead is deleted (checked by revision) and answered absent.
  void find(std::string room, std::function<void(directory_answer)> done);
  /// Makes this node the home of `room`, atomically: exists if a live room has the name.
  void claim(std::string room, std::function<void(claim_answer)> done);
  /// Frees the name, unless the entry is no longer the one of that revision (a newer room).
  void release(std::string room, std::uint64_t revision);
  /// After an outage: is `room` (held here) still this node's in the directory? Its entry is
  /// written again if it is gone (the others took this node for dead meanwhile). `done(keep,
  /// revision)`: keep false when another node now holds the name, and this node must give its room
  /// up so that the name is not held twice; keep true when NATS cannot tell now.
  void reclaim(std::string room, std::function<void(bool keep, std::uint64_t revision)> done);
  /// Sends a request to `node` to run; its frames come to `sink` while it lives. Returns the
  /// forward's id, for cancel_forward when the sink goes away before the last frame.
  std::string forward(const std::string& node, std::vector<std::uint8_t> request, const libchat::ip_address& client,
                      std::weak_ptr<forward_sink> sink, std::function<void(forward_answer)> done);
  void cancel_forward(const std::string& id);

 private:
  struct nats_handles;           // libnats's objects, known only to cluster_node.cpp
  friend struct nats_callbacks;  // libnats's C callbacks, which call back into the node

  void became_connected(const char* how);
  void became_disconnected();
  void became_closed(const std::string& why);
  /// On a worker: creates or binds the buckets; then the node is ready.
  void open_buckets();
  directory_answer lookup(const std::string& room);
  /// One directory entry as read: the KV status (NATS_OK, NATS_NOT_FOUND, or a failure), and for
  /// NATS_OK its revision and record (nullopt when the value is not one of ours).
  struct entry {
    int status = 0;
    std::uint64_t revision = 0;
    std::optional<directory_record> record;
    bool ours(const cluster_node& n) const {
      return record && record->node == n.settings_.node && record->incarnation == n.incarnation_;
    }
  };
  entry read_entry(const std::string& key);
  /// The atomic create of this node's entry for `room`; its revision, or 0 if it failed.
  std::uint64_t create_entry(const std::string& key, const std::string& room);
  /// Deletes `key` if its last revision is still `revision`.
  bool delete_if(const std::string& key, std::uint64_t revision);
  void heartbeats();
  void dispatch_reply(const std::string& id, std::vector<std::uint8_t> bytes, bool last);
  std::string subject(const std::string& tail) const;

  settings settings_;
  spdlog::logger& log_;
  std::uint64_t incarnation_;
  liveness liveness_;
  std::unique_ptr<nats_handles> nats_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> was_connected_{false};
  boost::asio::thread_pool workers_{4};
  forwarded_handler on_forwarded_;
  std::function<void()> on_directory_back_;
  bool was_ready_ = false;  // on the workers: the directory was ready once before

  std::mutex sinks_mutex_;
  std::uint64_t next_forward_ = 0;
  std::unordered_map<std::string, std::weak_ptr<forward_sink>> sinks_;

  std::mutex heartbeat_mutex_;
  std::condition_variable heartbeat_wake_;
  // libnats runs its connection callbacks on a thread of its own, after natsConnection_Close
  // returns: stop() waits for the last of them (closed) so that none outlives this object.
  std::mutex closed_mutex_;
  std::condition_variable closed_wake_;
  bool closed_ = false;
  std::thread heartbeat_thread_;
};

}  // namespace chat_server::cluster
