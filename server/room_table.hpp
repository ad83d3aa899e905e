// The only state shared across rooms: name → room (sharded, name_table.hpp: read for every
// datagram), and member address → room (to route the kernel's ICMP reports: written on joins,
// leaves and roams, read per report). Locks are held only to look up, insert or erase, never
// while sending.
#pragma once

#include "name_table.hpp"

#include "libchat/address.hpp"
#include "libchat/error.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chat_server {

class room_host;

class room_table {
 public:
  std::shared_ptr<room_host> find(std::string_view name) const;
  /// Inserts unless a room of that name exists (room_exists) or the table holds `max_rooms`
  /// already (room_limit): the check and the insert are one step, so concurrent creates cannot
  /// overshoot the cap.
  boost::system::error_code insert(const std::shared_ptr<room_host>& host, std::size_t max_rooms);
  /// Erases `name` if it still maps to `host` (a new room may already have reused the name).
  void erase(std::string_view name, const room_host* host);
  std::size_t size() const;
  std::vector<std::shared_ptr<room_host>> snapshot() const;

  void bind_endpoint(const libchat::peer_address& endpoint, const std::shared_ptr<room_host>& host);
  void unbind_endpoint(const libchat::peer_address& endpoint, const room_host* host);
  std::shared_ptr<room_host> find_endpoint(const libchat::peer_address& endpoint) const;

 private:
  name_table<room_host> rooms_;
  mutable std::shared_mutex endpoints_mutex_;
  std::unordered_map<libchat::peer_address, std::weak_ptr<room_host>, libchat::peer_address_hash> endpoints_;
};

}  // namespace chat_server
