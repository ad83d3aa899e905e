// Members that chat through an MQTT broker (Mosquitto), the same shape as the UDP members: one
// topic per room, QoS 0, each member a libmosquitto client subscribed to its room's topic (MQTT v5
// with no-local, so that the broker does not send a member its own messages back: M - 1 deliveries
// per message, as with chat-server) and publishing to it.
//
// libmosquitto runs without its own threads: each client's socket sits in an epoll set and
// mosquitto_loop_read/_write/_misc are called when it is ready. A client is used by one thread at
// a time: the set-up thread, then one mqtt_worker.
#pragma once

#include "load_worker.hpp"
#include "net.hpp"
#include "shape.hpp"
#include "udp_members.hpp"

#include <memory>
#include <string>
#include <vector>

struct mosquitto;

namespace chat_bench {

class mqtt_worker;

struct mqtt_member {
  mosquitto* client = nullptr;
  int fd = -1;
  std::uint32_t id = 0;
  std::uint32_t room = 0;
  std::uint32_t position = 0;
  std::string topic;
  std::vector<char> text;
  bool connected = false;
  bool subscribed = false;
  bool lost = false;
  bool out_armed = false;        ///< EPOLLOUT is in the member's epoll registration
  std::uint64_t packets = 0;     ///< packets libmosquitto handed to the callbacks
  mqtt_worker* worker = nullptr; ///< receives the member's messages once the load runs
};

/// Initialises libmosquitto once per process.
void mqtt_library_init();

class mqtt_population {
 public:
  mqtt_population(const shape& layout, const population_options& options);
  ~mqtt_population();  ///< disconnects and frees every client
  mqtt_population(const mqtt_population&) = delete;
  mqtt_population& operator=(const mqtt_population&) = delete;

  /// Connects every member (at most handshake_concurrency waiting for CONNACK/SUBACK at a time)
  /// and subscribes it to its room. Throws std::runtime_error on failure or time-out.
  void connect_and_subscribe(const endpoint& broker);

  std::vector<mqtt_member>& members() noexcept { return members_; }
  const shape& layout() const noexcept { return layout_; }

 private:
  shape layout_;
  population_options options_;
  std::vector<mqtt_member> members_;
};

class mqtt_worker final : public load_worker {
 public:
  mqtt_worker(std::size_t index, std::size_t count, std::vector<mqtt_member*> members);
  ~mqtt_worker() override;

  /// Called by libmosquitto's message callback on this worker's thread.
  void on_message(const void* payload, int length) noexcept;
  /// Connections the broker dropped while this worker drove them.
  std::size_t lost() const noexcept { return lost_; }

 protected:
  std::size_t members() const override { return members_.size(); }
  void wait_and_receive(std::int64_t timeout_ns) override;
  bool send_chat(std::size_t m, const stamp& s) override;
  bool send_keepalive(std::size_t) override { return false; }
  void housekeeping(std::int64_t now) override;

 private:
  void read_all(std::size_t m);
  void update_interest(std::size_t m);

  std::vector<mqtt_member*> members_;
  int epoll_fd_ = -1;
  std::int64_t now_ = 0;
  std::size_t lost_ = 0;
};

}  // namespace chat_bench
