// The members notice (docs/protocol.md §6.6): who is in the room, sent by the server to a member
// when it joins (and again when it asks), split over as many datagrams as the names need. The
// server side lays the parts out; the client side keeps the list from the parts and from the
// joined/left notices that follow.
#pragma once

#include "libchat/control.hpp"
#include "libchat/export.hpp"
#include "libchat/limits.hpp"

#include <cstddef>
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace libchat {

/// The longest notice JSON a server datagram carries: all of it but the zero SenderNameSize.
inline constexpr std::size_t max_notice_json = max_server_datagram - 1;
/// A receiver refuses a members notice that claims more parts than this: one name per part for
/// the most members a server may be configured for (--max-members ≤ 100,000).
inline constexpr std::int64_t max_members_parts = 100'000;

/// Server side: the members notice for `users` (every joined member's name, each a valid name,
/// in any order) and `host` (the host's name, empty when the host has not joined). Parts are
/// packed greedily in the order of `users`; each holds at least one name and fits
/// max_notice_json bytes. Construction is O(users); the views must outlive the object.
class LIBCHAT_EXPORT members_notice {
 public:
  members_notice(std::span<const std::string_view> users, std::string_view host);

  /// How many datagrams the notice needs (at least 1).
  std::size_t parts() const noexcept { return starts_.size(); }
  /// Writes part `index` (0-based; its "part" is index + 1) as JSON text into `out` and returns
  /// its length. Precondition: index < parts().
  std::size_t encode(std::size_t index, std::span<char, max_notice_json> out) const noexcept;

 private:
  std::span<const std::string_view> users_;
  std::string_view host_;
  std::vector<std::size_t> starts_;  // the index of the first user of each part
};

/// One members part with exactly these fields, written as members_notice writes its parts (no
/// splitting: the caller sees to it that the names fit a datagram). encode_notice uses it.
LIBCHAT_EXPORT std::string encode_members_part(std::uint32_t part, std::uint32_t parts, std::string_view host,
                                               std::span<const std::string> users);

/// Client side: the room's members as this client knows them, from the members notice and the
/// joined/left notices. A notice arrives at most once and may be lost (UDP): parts are merged into
/// the list as they come, and complete() says whether every part of the latest list arrived.
/// Bounded: at most max_roster_names names, whatever a hostile server sends.
class LIBCHAT_EXPORT member_roster {
 public:
  static constexpr std::size_t max_roster_names = 100'000;

  /// Applies a members, joined or left notice; every other notice changes nothing. Returns true
  /// when the list changed.
  bool apply(const notice& n);

  /// A members notice arrived (some part of it).
  bool received() const noexcept { return expected_parts_ != 0; }
  /// Every part of the latest members notice arrived.
  bool complete() const noexcept { return received() && parts_seen_ == expected_parts_; }
  std::size_t parts_seen() const noexcept { return parts_seen_; }
  std::size_t parts_expected() const noexcept { return expected_parts_; }

  /// Names in byte order.
  const std::set<std::string, std::less<>>& names() const noexcept { return names_; }
  /// The host's name, when a members notice named it.
  const std::string& host() const noexcept { return host_; }

 private:
  std::set<std::string, std::less<>> names_;
  std::string host_;
  std::vector<bool> seen_;  // by part number − 1, for the latest list
  std::size_t parts_seen_ = 0;
  std::size_t expected_parts_ = 0;
};

}  // namespace libchat
