// A libchat::room with its strand and timer. Everything that touches the room runs on the strand:
// datagrams handed over by the relay, joins from handshakes, ICMP reports, expiry and shutdown.
// The host applies the room's decisions: it sends through the shared udp_sender, logs events,
// keeps the member address index current, and removes the room from the table once it closes.
#pragma once

#include "libchat/room.hpp"
#include "room_services.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

namespace chat_server {

struct datagram_slot;

class room_host : public std::enable_shared_from_this<room_host> {
 public:
  using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;

  /// `host_ip`: the creator's address, whose hosted-room count the room gives back when it ends.
  room_host(room_services& services, std::string name, std::optional<libchat::password_hash> password,
            const libchat::ip_address& host_ip);

  /// The name, readable from any thread (the table's key).
  const std::string& name() const noexcept { return name_; }
  /// The password hash, fixed at creation: readable from any thread.
  const std::optional<libchat::password_hash>& password() const noexcept { return password_; }
  /// Called by the creator just before it inserts the room in the table. From then on the room
  /// gives back its address's room and each member's token as they end; a room that never got
  /// into the table gives nothing back (its creator still holds the reservations).
  void publish(bool published) noexcept { published_.store(published, std::memory_order_relaxed); }
  /// Cluster mode: the revision of the room's directory entry, which its close deletes (set before
  /// the room is in the table).
  void set_directory_revision(std::uint64_t revision) noexcept { directory_revision_ = revision; }
  std::uint64_t directory_revision() const noexcept { return directory_revision_; }
  strand_type& strand() noexcept { return strand_; }

  // The rest runs on the strand only.
  libchat::room& room() noexcept { return room_; }
  boost::system::result<libchat::issued_token> admit(std::string_view username, const libchat::ip_address& ip,
                                                     const libchat::channel_maker& make_channel = {});
  /// room::may_admit now: why a join would be refused whoever asks, if it would.
  std::optional<libchat::errc> may_admit();
  void on_datagram(const datagram_slot& slot);
  void on_unreachable(const libchat::peer_address& endpoint);
  void shutdown();
  /// Call after anything that can close the room or add an earlier deadline.
  void after_change();

 private:
  class output;
  bool published() const noexcept { return published_.load(std::memory_order_relaxed); }
  void on_timer();
  void remove_from_table();

  room_services& services_;
  const std::string name_;
  const libchat::ip_address host_ip_;
  const std::optional<libchat::password_hash> password_;
  std::atomic<bool> published_{false};
  strand_type strand_;
  boost::asio::steady_timer timer_;
  std::optional<libchat::time_point> armed_for_;
  libchat::room room_;
  bool removed_from_table_ = false;
  std::uint64_t directory_revision_ = 0;
  bool deadline_may_be_earlier_ = false;
};

}  // namespace chat_server
