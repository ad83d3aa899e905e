// One chat room: its members, their tokens (bound to a username and an IP address), the host,
// inactivity timeouts and the relay. Single-threaded by contract: the server touches a room only
// from that room's strand. Time is an argument; next_deadline() says when expire() is due.
#pragma once

#include "libchat/address.hpp"
#include "libchat/datagram.hpp"
#include "libchat/export.hpp"
#include "libchat/password.hpp"
#include "libchat/rate_limit.hpp"
#include "libchat/room_output.hpp"
#include "libchat/secure_channel.hpp"
#include "libchat/token.hpp"
#include "libchat/token_index.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace libchat {

struct room_limits {
  std::size_t max_members = 1000;                           ///< tokens per room (room_full past it)
  std::chrono::milliseconds inactivity_timeout{60'000};     ///< silence that removes a member
  std::chrono::milliseconds token_ttl{30'000};              ///< time to send the first datagram
  unsigned unreachable_limit = 3;                           ///< consecutive ICMP errors that remove a member ...
  std::chrono::milliseconds unreachable_grace{20'000};      ///< ... once they span this long
  rate_limit chat{10, 30};   ///< chat messages per member (relays out = this × (members − 1)); never a leave
  rate_limit joins{1, 10};   ///< tokens issued per room, so that join/leave notices stay bounded
};

struct issued_token {
  std::string token;     ///< the printable token for the completion reply
  std::uint64_t session = 0;  ///< the token's public index: the session id of an encrypted member
  bool host = false;
};

/// Makes the datagram channel of an encrypted member, given its session id.
using channel_maker = std::function<std::unique_ptr<secure_channel>(std::uint64_t session_id)>;

class LIBCHAT_EXPORT room {
 public:
  /// `random` issues the members' tokens; it must outlive the room (system_random() does).
  room(std::string name, std::optional<password_hash> password, const room_limits& limits,
       random_source& random = system_random());

  const std::string& name() const noexcept { return name_; }
  /// True once the host left or was removed, or shutdown() ran. A closed room admits nobody and
  /// accepts no datagram; its name may be reused at once by a new room.
  bool closed() const noexcept { return closed_; }
  const std::optional<password_hash>& password() const noexcept { return password_; }
  /// Tokens issued and not yet removed (joined or not).
  std::size_t member_count() const noexcept { return members_.size(); }
  /// Members whose first datagram arrived.
  std::size_t joined_count() const noexcept;

  /// Issues a token for `username` bound to `ip`. The first token issued is the host's. The
  /// password, if any, is the caller's to check first (it is slow). With `make_channel`, the
  /// member is an encrypted one: its datagrams are sealed both ways. A room is encrypted or not
  /// as its host is. Fails with room_closed, name_taken, room_full, encryption_required (a
  /// plaintext join to an encrypted room), encryption_mismatch (the other way round) or
  /// rate_limited (joins come faster than limits.joins allows).
  boost::system::result<issued_token> admit(std::string_view username, const ip_address& ip, time_point now,
                                            room_output& out, const channel_maker& make_channel = {});
  /// Why admit would refuse anyone now, whoever they are: room_closed, room_full, or rate_limited
  /// (joins too fast); nullopt if it might admit. Cheap and without effect, so that a join can be
  /// refused before its password is hashed; admit checks all of it again.
  std::optional<errc> may_admit(time_point now);

  /// Handles a client datagram whose room name matched this room, plaintext (a token) or sealed
  /// (TokenSize 8: a session id, then counter and ciphertext). Relays, answers or drops.
  datagram_outcome on_datagram(const client_datagram& datagram, const peer_address& from, time_point now,
                               room_output& out);
  /// The plaintext path alone, from a token and a message.
  datagram_outcome on_datagram(std::string_view token, byte_view message, const peer_address& from,
                               time_point now, room_output& out);

  /// The kernel reported that a datagram sent to `to` was undeliverable (ICMP). After
  /// `unreachable_limit` reports in a row without a datagram from the member in between, and
  /// once the first of them is `unreachable_grace` old, the member is removed. ICMP reports can be
  /// forged by anyone who knows the member's address and port; the grace is longer than a live
  /// client's keepalive interval, so a live member's next datagram always ends the streak first.
  void on_unreachable(const peer_address& to, time_point now, room_output& out);

  /// Removes members silent for the inactivity timeout and tokens unused for the token TTL.
  void expire(time_point now, room_output& out);
  /// When expire() next has something to do; nullopt when nothing is pending.
  std::optional<time_point> next_deadline() const noexcept;

  /// Tells every member the server is stopping and closes the room.
  void shutdown(room_output& out);

 private:
  struct member {
    std::string username;
    member_token token;
    ip_address ip;
    peer_address endpoint;  // valid when joined
    bool joined = false;
    time_point last_seen;   // issue time until joined
    unsigned unreachable = 0;                 // ICMP reports in a row ...
    time_point unreachable_since{};           // ... since the first of them
    std::optional<secure_channel> channel;    // encrypted members only; inline, one hop from here
    token_bucket chat;                        // limits.chat
    time_point told_rate_limited{};           // the last rate_limited notice, at most one a second
    time_point told_members{};                // the last members notice, at most one a second
  };
  enum class removal : std::uint8_t { left, timed_out, unreachable, token_expired };

  bool endpoint_taken(const peer_address& endpoint) const noexcept;
  datagram_outcome handle_message(std::size_t index, byte_view message, const peer_address& from, time_point now,
                                  room_output& out);
  /// IP, then port (unless `may_roam`: an encrypted member's verified datagram may move it), then
  /// that nobody else of the room uses the address and port.
  datagram_outcome check_sender(const member& m, const peer_address& from, bool may_roam) const noexcept;
  datagram_outcome drop_rate_limited(member& m, time_point now, room_output& out);
  void send_to(member& m, byte_view datagram, room_output& out);
  /// Refreshes the member; true when this datagram made it join.
  bool accept_from(std::size_t index, const peer_address& from, time_point now, room_output& out);
  datagram_outcome answer_members_request(std::size_t index, const peer_address& from, time_point now,
                                          room_output& out);
  void send_members(member& to, time_point now, room_output& out);
  void relay(std::size_t sender, byte_view text, room_output& out);
  void remove(std::size_t index, removal why, room_output& out);
  void erase_at(std::size_t index);
  void close(std::string_view reason, room_output& out);
  void roam(std::size_t index, const peer_address& to, room_output& out);
  void evict_all(room_output& out);
  static std::string_view reason_name(removal why) noexcept;
  static std::string_view host_reason_name(removal why) noexcept;
  static room_event::kind event_kind(removal why) noexcept;
  void send_notice(member& to, std::string_view json, room_output& out);
  void notify_joined_except(std::size_t skip, std::string_view json, room_output& out);

  std::string name_;
  std::optional<password_hash> password_;
  room_limits limits_;
  random_source* random_;
  std::vector<member> members_;
  token_index by_token_;  // token index → position in members_
  std::uint64_t host_token_ = 0;
  token_bucket joins_;
  bool encrypted_ = false;
  bool closed_ = false;
};

}  // namespace libchat
