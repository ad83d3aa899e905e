// One TCRP exchange, server side, as a state machine with no I/O: it takes the request's bytes and
// the results of what it asked for, and returns the next thing to do. It owns the whole rule set
// of a create or a join: the frame and payload checks, opening a sealed request and sealing every
// reply, the order of the checks, every refusal with its wire code and sentence, and the
// completion. The adapter (chat-server's handshake_connection) only carries out actions: it reads,
// writes, runs password hashes on its workers, and touches rooms on their strands.
//
// Flow (each call returns the next action; see server_action):
//
//   auto a = x.start();                       // read
//   read → x.on_read(n)                       // into a.buffer; n > 0
//   route → x.on_routed()                     // (route_joins) a join for a.room, still unopened:
//                                             //   the adapter may forward it (then on_failed)
//   write → x.on_written()                    // a.bytes; a.last: close gracefully after it
//   find_room → x.on_room_lookup(lookup)      // a.room
//   check_room → x.on_room_checked(refusal)   // the room find_room found: would it admit now?
//   hash_password → x.on_hashed(hash)         // a.password; nullopt when the workers are full
//   verify_password → x.on_verified(right)    // a.password against *a.stored
//   create_room / admit → x.on_admitted(r)    // *a.request (create, cluster mode: errc::overloaded
//                                             //   when the room directory could not be asked)
//   close → done: x.outcome() says how it ended
//
// A sealed request is checked against the replay ledger as soon as it opened: untimed, outside
// the window or seen before, it is refused before any lookup, reservation or hash.
//
// Any I/O failure or the deadline: call x.on_failed() instead, and nothing more. A request that
// reached this node through another one (cluster mode) is the same bytes fed to the same machine.
//
// Reservations: the exchange reserves the client address's hash slot, room and token through the
// admission_ledger, and gives back what it holds when it ends. A token (and for a create, the room)
// passes to the room once admitted into a room that is in the table; from then on the room gives
// it back as its member (or itself) ends.
#pragma once

#include "libchat/address.hpp"
#include "libchat/address_limits.hpp"
#include "libchat/bytes.hpp"
#include "libchat/error.hpp"
#include "libchat/export.hpp"
#include "libchat/handshake.hpp"
#include "libchat/password.hpp"
#include "libchat/replay_cache.hpp"
#include "libchat/room.hpp"
#include "libchat/secure_handshake.hpp"
#include "libchat/tcrp_reader.hpp"
#include "libchat/time.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace libchat {

/// Every way a handshake is refused (refusals.def).
enum class refusal : std::uint8_t {
#define LIBCHAT_REFUSAL(name, wire, sentence) name,
#include "libchat/refusals.def"
#undef LIBCHAT_REFUSAL
};

/// The refusal's snake_case name, as logs write it ("rooms_per_ip").
LIBCHAT_EXPORT std::string_view refusal_name(refusal r) noexcept;
/// The TCRP error it answers with.
LIBCHAT_EXPORT tcrp_error refusal_error(refusal r) noexcept;

/// What an address may hold, as the exchange asks for it. chat-server implements this around a
/// libchat::address_limits under its lock, with its clock; tests implement it as they like.
class LIBCHAT_EXPORT admission_ledger {
 public:
  using resource = address_resource;
  /// False when the address holds as many of `what` as it may.
  virtual bool reserve(resource what, const ip_address& ip) = 0;
  virtual void release(resource what, const ip_address& ip) = 0;
  /// The address's hash slot and one hash of its budget (address_limits::reserve_hash); give
  /// the slot back with release(resource::hash). By default only the slot, with no budget.
  virtual hash_grant reserve_hash(const ip_address& ip, std::string_view /*room*/) {
    return {reserve(resource::hash, ip) ? hash_grant::verdict::granted : hash_grant::verdict::in_flight};
  }
  /// Whether a password for `room` may be checked now: not once the client, or the room, has
  /// used up its wrong passwords.
  virtual password_budget may_try_password(const ip_address& ip, std::string_view room) = 0;
  virtual void password_failed(const ip_address& ip, std::string_view room) = 0;

 protected:
  ~admission_ledger() = default;
};

struct server_exchange_config {
  std::size_t max_payload = 8192;  ///< OperationPayloadSize accepted in a request
  bool allow_plaintext = false;    ///< accept unencrypted requests (and create unencrypted rooms)
  std::uint16_t udp_port = 0;      ///< told to clients in the completion
  /// Cluster mode: this node's advertised address, told to clients as "udp_host" (empty: absent,
  /// the client sends to the host it reached over TCP).
  std::string udp_host;
  /// During a key rotation, the key the server will use next: announced in every sealed
  /// completion (never in plaintext ones, nor in operation 3's unauthenticated answer).
  std::optional<public_key> next_key;
  /// Counters per datagram key before both sides update it (valid_key_datagrams); announced in
  /// the sealed completion when not the default.
  std::uint64_t key_datagrams = default_key_datagrams;
  // Only for the sentences of refusals; the limits themselves are the ledger's and the room's.
  std::size_t rooms_per_address = 16;
  std::size_t tokens_per_address = 256;
  std::size_t max_members = 1000;
  std::chrono::seconds request_skew{60};  ///< the replay ledger's window, for its refusal's sentence
  /// Cluster mode: stop at `route` once a join's frame is read, before its payload is opened, so
  /// that the adapter can send the request's bytes to the room's home node (the room name is in
  /// the clear header) without spending an X25519 on a request another node will run.
  bool route_joins = false;
};

/// How the listener let the connection in. A refused one is only read, to answer its request.
enum class door : std::uint8_t {
  open,
  server_busy,   ///< the server is over its handshake limit: answer max_handshakes
  rate_limited,  ///< the address is over its own: answer handshakes_per_ip
};

/// The room table's answer to find_room.
struct room_lookup {
  bool found = false;
  /// create: the table holds as many rooms as it may (an early answer; create_room checks again).
  bool at_capacity = false;
  /// join: the room's password, if it has one.
  std::optional<password_hash> password;
  /// Cluster mode: the room directory could not be asked (the node lost its NATS connection):
  /// answer server_busy rather than guess, so that no name exists twice.
  bool unavailable = false;
};

/// What create_room or admit asks of the room. Valid until the next call into the exchange.
struct admission_request {
  std::string_view room;
  std::string_view username;
  ip_address ip;
  /// create_room: the new room's password hash, if it has one.
  const std::optional<password_hash>* password = nullptr;
  /// Encrypted: makes the member's datagram channel from this handshake's keys (it holds no
  /// reference to the exchange, so the room may call it on its own strand). Empty: plaintext.
  channel_maker make_channel;
};

struct server_action {
  enum class kind : std::uint8_t {
    read,             ///< read some bytes into `buffer`, then on_read
    route,            ///< (route_joins) a join for `room` is read, not yet opened: on_routed, or forward it
    write,            ///< write `bytes`, then on_written; `last`: then close gracefully
    find_room,        ///< look `room` up in the table, then on_room_lookup
    check_room,       ///< ask the room find_room found whether it would admit anyone now, then on_room_checked
    hash_password,    ///< hash `password` (slow; off this thread), then on_hashed
    verify_password,  ///< check `password` against `*stored` (slow), then on_verified
    create_room,      ///< create `request->room` with its host admitted, insert it, then on_admitted
    admit,            ///< admit into the room find_room found, then on_admitted
    close,            ///< nothing left: close (after a write with `last`, gracefully)
  };
  kind what = kind::close;
  mutable_byte_view buffer{};
  byte_view bytes{};
  bool last = false;
  std::string_view room{};
  std::string_view password{};
  const password_hash* stored = nullptr;
  const admission_request* request = nullptr;
  /// hash_password / verify_password: what the client has left of its hash budget after this
  /// hash (hash_grant::budget_left). A fair queue runs the hash of the client with most left first.
  double hash_budget = 0;
};

/// How the exchange ended, for the adapter's log line and counters.
struct exchange_outcome {
  enum class kind : std::uint8_t {
    unfinished,  ///< still running, or the connection failed before an answer was sent
    key_sent,    ///< operation 3 answered
    created,
    joined,
    refused,     ///< `why` says which refusal
  };
  kind what = kind::unfinished;
  refusal why{};
  /// For malformed: what was wrong with the request.
  boost::system::error_code request_error;
  bool encrypted = false;     ///< the request was sealed (so every reply was)
  bool password = false;      ///< the request carried a password
  std::string username;       ///< once the request was read
};

class LIBCHAT_EXPORT server_exchange {
 public:
  /// `key`: the server's static key, for sealed requests and operation 3.
  /// `client`: the client's IP address as the TCP connection shows it (or, forwarded, as the
  /// front node saw it). `now`: the server's wall-clock time as the connection was accepted, which
  /// a sealed request's time is checked against (the deadline keeps it a few seconds old at
  /// most). `replays` remembers the sealed requests already taken. Both ledgers must outlive the
  /// exchange.
  server_exchange(const server_exchange_config& config, const server_key& key, admission_ledger& ledger,
                  replay_ledger& replays, const ip_address& client, wall_time now, door how = door::open);
  ~server_exchange();
  server_exchange(const server_exchange&) = delete;
  server_exchange& operator=(const server_exchange&) = delete;

  server_action start();
  server_action on_read(std::size_t n);
  /// After `route`: the request is this node's to run.
  server_action on_routed();
  server_action on_written();
  server_action on_room_lookup(const room_lookup& lookup);
  /// `refusal`: why the room would not admit anyone now (room_closed, room_full, rate_limited),
  /// or nullopt if it would.
  server_action on_room_checked(std::optional<errc> refusal);
  server_action on_hashed(std::optional<password_hash> hash);
  server_action on_verified(std::optional<bool> right);
  server_action on_admitted(const boost::system::result<issued_token>& issued);
  /// The connection failed or timed out: the exchange ends without an answer and gives back what
  /// it holds. No further calls.
  void on_failed();

  bool done() const noexcept { return step_ == step::done; }
  const exchange_outcome& outcome() const noexcept { return outcome_; }
  /// The room name of the request, once read (for logs; echoed in every reply).
  std::string_view room() const noexcept { return room_; }
  /// The request's operation (1 create, 2 join, 3 key), once read; 0 before.
  std::uint8_t operation() const noexcept { return operation_; }
  /// The reply that went out last (its payload, before sealing), for tests and logs.
  std::string_view last_reply() const noexcept { return last_reply_; }

 private:
  enum class step : std::uint8_t {
    reading,
    routing,
    looking_up,
    accepting,
    checking,
    hashing,
    verifying,
    creating,
    admitting,
    finishing,
    done
  };

  server_action on_request();
  /// The payload: opened (sealed) or parsed, checked, then the room lookup.
  server_action open_request();
  /// A sealed request that opened: refused if untimed, outside the window, or seen before.
  std::optional<refusal> check_freshness();
  server_action after_accepted();
  server_action create_after_hash();
  server_action check_password();
  server_action join_after_password();
  /// Takes the hash slot and a hash of the budget; the refusal if the client may not hash now.
  std::optional<refusal> take_hash();
  server_action refuse(refusal why, frame_state state);
  server_action reply(frame_state state, const std::string& json, bool last);
  server_action map_admission_failure(errc e);
  std::string sentence(refusal why) const;
  /// The admission request for create_room (with the new room's password) or admit (none).
  void set_admission(const std::optional<password_hash>* password);
  bool& held(admission_ledger::resource what) noexcept;
  void give_back(admission_ledger::resource what);
  void give_back_all();
  bool take(admission_ledger::resource what);
  bool is_create() const noexcept;

  server_exchange_config config_;
  const server_key& key_;
  admission_ledger& ledger_;
  replay_ledger& replays_;
  ip_address client_;
  wall_time now_;
  std::chrono::seconds clock_offset_{};  // a sealed request's time minus now_, once checked
  door door_;
  step step_ = step::reading;
  tcrp_reader reader_;
  std::uint8_t operation_ = 0;
  std::string room_;
  room_request request_;
  std::unique_ptr<server_handshake> secure_;  // set once a sealed request opened
  room_lookup found_;
  std::optional<password_hash> new_password_;  // create: the hash of the new room's password
  admission_request admission_;
  double hash_budget_ = 0;  // what take_hash left of the client's budget
  bool verified_ = false;   // the password was hashed and right
  bool holds_hash_ = false, holds_room_ = false, holds_token_ = false;
  std::string last_reply_;
  std::vector<std::uint8_t> out_;
  exchange_outcome outcome_;
};

}  // namespace libchat
