// One TCRP exchange, client side, as a state machine with no I/O: operation 3 (the server's key),
// or a create/join (the request, sealed to the server's key unless plaintext was asked for; the
// state-1 response; the state-2 completion). It checks every reply (frame, echo of operation and
// room, order, authenticity) and ends with a grant or a typed failure with a sentence for a person.
// Whether to trust a key is the caller's decision: a key exchange only returns it.
//
// Flow:
//
//   auto a = x.start();                  // write: the request frame
//   write → x.on_written()               // a.bytes
//   read → x.on_read(n)                  // into a.buffer; n > 0
//        → x.on_closed()                 // the server closed the connection (EOF) instead
//   done → x.grant() / x.key() / x.failure()
//
// Connecting, the deadline and I/O errors are the adapter's; it reports them as it likes.
//
// Unauthenticated errors: after a sealed request, the only plaintext answers a genuine server can
// send are those it gives before it could read the request (bad_request for a request that did not
// open, server_busy, rate_limited). Any other plaintext answer is forged: the exchange fails with
// bad_handshake, and an accepted plaintext error is marked unauthenticated, so that no client is
// talked into dropping encryption by someone on the path.
#pragma once

#include "libchat/bytes.hpp"
#include "libchat/error.hpp"
#include "libchat/export.hpp"
#include "libchat/handshake.hpp"
#include "libchat/secure_channel.hpp"
#include "libchat/secure_handshake.hpp"
#include "libchat/tcrp.hpp"
#include "libchat/tcrp_reader.hpp"
#include "libchat/time.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace libchat {

struct client_exchange_config {
  operation op = operation::create_room;  ///< server_key for a key exchange
  std::string room;                       ///< empty for operation 3
  room_request request;                   ///< create/join
  /// The server's key, already accepted by the caller: the request is sealed to it. Unset:
  /// plaintext (a key exchange ignores it).
  std::optional<public_key> server_key;
  /// How failures name the server ("chat.example:9000").
  std::string server_name;
  /// The wall-clock time now: a sealed request carries it (§12.3), and the server refuses one
  /// whose time is too far from its own. Ignored for plaintext requests and key exchanges.
  wall_time now{};
  /// Fixes the client's ephemeral key (test vectors only; empty: a fresh one).
  std::vector<std::uint8_t> ephemeral_private;
  /// Replies are small JSON objects; this bound only stops a broken server from making us allocate.
  std::size_t max_reply_payload = 65536;
};

/// What a successful create/join grants.
struct exchange_grant {
  std::string token;  ///< what plaintext datagrams carry (an encrypted session sends its id instead)
  std::uint16_t udp_port = 0;
  /// Cluster mode: the address of the node that holds the room, to send datagrams to. Absent: the
  /// host the TCP connection reached.
  std::optional<std::string> udp_host;
  bool host = false;
  bool created = false;
  /// Encrypted sessions: seals what the client sends, opens what it receives.
  std::unique_ptr<secure_channel> channel;
  /// Encrypted sessions during a key rotation: the server's next key, announced inside the sealed
  /// completion, so vouched for by the key the request was sealed to. Never set otherwise.
  std::optional<public_key> next_key;
};

struct LIBCHAT_EXPORT exchange_failure {
  enum class kind : std::uint8_t {
    refused,        ///< the server answered with an error: `refusal`
    no_server_key,  ///< operation 3 answered bad_request: an older server that only speaks plaintext
    bad_reply,      ///< a reply that breaks the protocol
    bad_handshake,  ///< a reply that did not authenticate (not sealed by the key's holder, or altered)
    closed,         ///< the server closed the connection without (or in the middle of) a reply
  };
  kind what = kind::bad_reply;
  tcrp_error refusal = tcrp_error::internal_error;
  /// A sealed request got a plaintext error (one a genuine server can send before it reads the
  /// request): it may come from anyone on the path, so act on nothing but "try again".
  bool unauthenticated = false;
  std::string message;  ///< for a person: the server's message for a refusal, else ours

  /// "refused" failures: the wire name; else the kind's name ("bad_reply").
  std::string_view code() const noexcept;
};

struct client_action {
  enum class kind : std::uint8_t { write, read, done };
  kind what = kind::done;
  byte_view bytes{};
  mutable_byte_view buffer{};
};

class LIBCHAT_EXPORT client_exchange {
 public:
  explicit client_exchange(client_exchange_config config);
  ~client_exchange();
  client_exchange(const client_exchange&) = delete;
  client_exchange& operator=(const client_exchange&) = delete;

  client_action start();
  client_action on_written();
  client_action on_read(std::size_t n);
  client_action on_closed();

  bool done() const noexcept { return done_; }
  /// Set once done with success: a create/join's grant (moved out once).
  exchange_grant* grant() noexcept { return grant_ ? &*grant_ : nullptr; }
  /// Set once done with success: operation 3's key.
  const std::optional<public_key>& key() const noexcept { return key_; }
  /// Set once done with a failure.
  const std::optional<exchange_failure>& failure() const noexcept { return failure_; }

 private:
  client_action on_frame();
  client_action on_key_reply();
  client_action on_response();
  client_action on_completion();
  client_action read_next_frame();
  client_action fail(exchange_failure::kind what, std::string message);
  client_action bad_reply(std::string_view what);
  client_action unreadable(std::string_view what, boost::system::error_code ec);
  client_action refused(const error_response& r, bool unauthenticated = false);
  std::optional<std::string> echo_problem(bool state1_error) const;
  bool is_key_exchange() const noexcept { return config_.op == operation::server_key; }

  client_exchange_config config_;
  std::unique_ptr<client_handshake> secure_;
  std::vector<std::uint8_t> request_;
  std::optional<tcrp_reader> reader_;
  std::size_t received_ = 0;  // bytes of the current reply so far
  bool accepted_ = false;
  bool done_ = false;
  std::optional<exchange_grant> grant_;
  std::optional<public_key> key_;
  std::optional<exchange_failure> failure_;
};

}  // namespace libchat
