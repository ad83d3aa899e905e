#include "room_table.hpp"

#include "room_host.hpp"

#include <mutex>

namespace chat_server {

std::shared_ptr<room_host> room_table::find(std::string_view name) const {
  return rooms_.find(name);
}

boost::system::error_code room_table::insert(const std::shared_ptr<room_host>& host, std::size_t max_rooms) {
  switch (rooms_.insert(std::string(host->name()), host, max_rooms)) {
    case name_table<room_host>::insert_result::exists: return libchat::errc::room_exists;
    case name_table<room_host>::insert_result::full: return libchat::errc::room_limit;
    case name_table<room_host>::insert_result::inserted: break;
  }
  return {};
}

void room_table::erase(std::string_view name, const room_host* host) {
  rooms_.erase(name, host);
}

std::size_t room_table::size() const {
  return rooms_.size();
}

std::vector<std::shared_ptr<room_host>> room_table::snapshot() const {
  return rooms_.snapshot();
}

void room_table::bind_endpoint(const libchat::peer_address& endpoint, const std::shared_ptr<room_host>& host) {
  std::unique_lock lock(endpoints_mutex_);
  endpoints_[endpoint] = host;
}

void room_table::unbind_endpoint(const libchat::peer_address& endpoint, const room_host* host) {
  std::unique_lock lock(endpoints_mutex_);
  const auto it = endpoints_.find(endpoint);
  if (it == endpoints_.end()) return;
  const auto current = it->second.lock();
  if (!current || current.get() == host) endpoints_.erase(it);
}

std::shared_ptr<room_host> room_table::find_endpoint(const libchat::peer_address& endpoint) const {
  std::shared_lock lock(endpoints_mutex_);
  const auto it = endpoints_.find(endpoint);
  return it == endpoints_.end() ? nullptr : it->second.lock();
}

}  // namespace chat_server
