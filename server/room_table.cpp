#include "room_table.hpp"

#include "room_host.hpp"

#include <cryptopp/osrng.h>
#include <cryptopp/siphash.h>

#include <mutex>

namespace chat_server {

room_table::name_hash::name_hash() { CryptoPP::OS_GenerateRandomBlock(false, key.data(), key.size()); }

std::size_t room_table::name_hash::operator()(std::string_view s) const noexcept {
  CryptoPP::SipHash<2, 4, false> mac(key.data(), static_cast<unsigned>(key.size()));
  mac.Update(reinterpret_cast<const CryptoPP::byte*>(s.data()), s.size());
  std::uint64_t out = 0;
  mac.TruncatedFinal(reinterpret_cast<CryptoPP::byte*>(&out), sizeof out);
  return static_cast<std::size_t>(out);
}

std::shared_ptr<room_host> room_table::find(std::string_view name) const {
  std::shared_lock lock(rooms_mutex_);
  const auto it = rooms_.find(name);
  return it == rooms_.end() ? nullptr : it->second;
}

boost::system::error_code room_table::insert(const std::shared_ptr<room_host>& host, std::size_t max_rooms) {
  std::unique_lock lock(rooms_mutex_);
  if (rooms_.contains(host->name())) return libchat::errc::room_exists;
  if (rooms_.size() >= max_rooms) return libchat::errc::room_limit;
  rooms_.emplace(host->name(), host);
  return {};
}

void room_table::erase(std::string_view name, const room_host* host) {
  std::shared_ptr<room_host> doomed;  // destroyed after the lock is released
  std::unique_lock lock(rooms_mutex_);
  const auto it = rooms_.find(name);
  if (it == rooms_.end() || it->second.get() != host) return;
  doomed = std::move(it->second);
  rooms_.erase(it);
}

std::size_t room_table::size() const {
  std::shared_lock lock(rooms_mutex_);
  return rooms_.size();
}

std::vector<std::shared_ptr<room_host>> room_table::snapshot() const {
  std::shared_lock lock(rooms_mutex_);
  std::vector<std::shared_ptr<room_host>> all;
  all.reserve(rooms_.size());
  for (const auto& [name, host] : rooms_) all.push_back(host);
  return all;
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
