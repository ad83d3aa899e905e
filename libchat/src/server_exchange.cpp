#include "libchat/server_exchange.hpp"

#include <array>
#include <utility>

namespace libchat {
namespace {

struct refusal_row {
  std::string_view name;
  tcrp_error wire;
  std::string_view sentence;
};

constexpr std::array refusal_table{
#define LIBCHAT_REFUSAL(name, wire, sentence) refusal_row{#name, tcrp_error::wire, sentence},
#include "libchat/refusals.def"
#undef LIBCHAT_REFUSAL
};

const refusal_row& row_of(refusal r) noexcept { return refusal_table[static_cast<std::size_t>(r)]; }

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// Replaces each {name} of `text` by its value; an unknown {name} stays as it is.
std::string fill(std::string_view text, std::initializer_list<std::pair<std::string_view, std::string>> values) {
  std::string out;
  out.reserve(text.size() + 32);
  for (std::size_t i = 0; i < text.size();) {
    bool replaced = false;
    if (text[i] == '{') {
      for (const auto& [name, value] : values) {
        if (text.substr(i + 1, name.size()) == name && text.substr(i + 1 + name.size(), 1) == "}") {
          out += value;
          i += name.size() + 2;
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

}  // namespace

std::string_view refusal_name(refusal r) noexcept { return row_of(r).name; }
tcrp_error refusal_error(refusal r) noexcept { return row_of(r).wire; }

server_exchange::server_exchange(const server_exchange_config& config, const server_key& key, admission_ledger& ledger,
                                 replay_ledger& replays, const ip_address& client, wall_time now, door how)
    : config_(config),
      key_(key),
      ledger_(ledger),
      replays_(replays),
      client_(client),
      now_(now),
      door_(how),
      reader_(tcrp_direction::to_server, config.max_payload) {}

server_exchange::~server_exchange() { give_back_all(); }

bool server_exchange::is_create() const noexcept {
  return operation_ == static_cast<std::uint8_t>(operation::create_room);
}

// ---- reading the request ----

server_action server_exchange::start() { return {.what = server_action::kind::read, .buffer = reader_.prepare()}; }

server_action server_exchange::on_read(std::size_t n) {
  reader_.commit(n);
  if (reader_.state() == tcrp_reader::status::need_more)
    return {.what = server_action::kind::read, .buffer = reader_.prepare()};
  return on_request();
}

server_action server_exchange::on_request() {
  if (const auto& header = reader_.header()) operation_ = header->operation;
  room_ = std::string(reader_.room());
  if (reader_.state() == tcrp_reader::status::failed) {
    outcome_.request_error = reader_.error();
    return refuse(refusal::malformed, frame_state::response);
  }
  if (door_ == door::server_busy) return refuse(refusal::max_handshakes, frame_state::response);
  if (door_ == door::rate_limited) return refuse(refusal::handshakes_per_ip, frame_state::response);
  if (operation_ == static_cast<std::uint8_t>(operation::server_key)) {
    outcome_.what = exchange_outcome::kind::key_sent;
    return reply(frame_state::response, encode_server_key_response(key_.public_half()), true);
  }
  if (config_.route_joins && operation_ == static_cast<std::uint8_t>(operation::join_room)) {
    step_ = step::routing;
    return {.what = server_action::kind::route, .room = room_};
  }
  return open_request();
}

server_action server_exchange::on_routed() {
  step_ = step::reading;
  return open_request();
}

server_action server_exchange::open_request() {
  const std::string_view payload = reader_.payload();
  boost::system::result<room_request> request = make_error_code(errc::bad_handshake);
  if (is_sealed_request(payload)) {
    auto secure = std::make_unique<server_handshake>(key_, operation_, room_);
    request = secure->open_request(payload);
    // A request that opened but whose JSON is bad is still answered sealed: the client proved
    // nothing, but it did encrypt to us, and a sealed answer is the one it can trust.
    if (!request && request.error() == errc::bad_handshake) return refuse(refusal::bad_handshake, frame_state::response);
    secure_ = std::move(secure);
    outcome_.encrypted = true;
  } else {
    if (!config_.allow_plaintext) return refuse(refusal::plaintext, frame_state::response);
    request = parse_room_request(payload);
  }
  if (!request) {
    outcome_.request_error = request.error();
    return refuse(refusal::malformed, frame_state::response);
  }
  request_ = std::move(*request);
  outcome_.username = request_.username;
  outcome_.password = request_.password.has_value();
  if (secure_) {
    if (const auto why = check_freshness()) return refuse(*why, frame_state::response);
  }
  step_ = step::looking_up;
  return {.what = server_action::kind::find_room, .room = room_};
}

std::optional<refusal> server_exchange::check_freshness() {
  // Without a time, a recorded request could be replayed for ever.
  if (!request_.sent_at) return refusal::untimed;
  clock_offset_ = *request_.sent_at - now_;
  // One answer for every replay, at state 1 and before the room is looked up: its size and its
  // timing are the same whatever the room, the name or the password (the replayer cannot read it).
  switch (replays_.first_sight(secure_->client_ephemeral(), *request_.sent_at, now_)) {
    case freshness::fresh: return std::nullopt;
    case freshness::replayed: return refusal::replayed;
    case freshness::too_old:
    case freshness::too_new: return refusal::clock_skew;
    case freshness::crowded: return refusal::replays_crowded;
  }
  return refusal::replays_crowded;
}

// ---- create and join ----

server_action server_exchange::on_room_lookup(const room_lookup& lookup) {
  found_ = lookup;
  if (found_.unavailable) return refuse(refusal::cluster_unavailable, frame_state::response);
  if (is_create()) {
    if (found_.found) return refuse(refusal::room_exists, frame_state::response);
    if (found_.at_capacity) return refuse(refusal::max_rooms, frame_state::response);
    // Every cheap check before the slow hash: the address's rooms, tokens and hash slot.
    if (!take(admission_ledger::resource::room)) return refuse(refusal::rooms_per_ip, frame_state::response);
    if (!take(admission_ledger::resource::token)) return refuse(refusal::tokens_per_ip, frame_state::response);
    if (request_.password) {
      if (const auto no = take_hash()) return refuse(*no, frame_state::response);
    }
    return reply(frame_state::response, encode_accepted({"Creating room " + quoted(room_) + "."}), false);
  }
  if (!found_.found) return refuse(refusal::room_not_found, frame_state::response);
  return reply(frame_state::response, encode_accepted({"Joining room " + quoted(room_) + "."}), false);
}

server_action server_exchange::after_accepted() {
  if (is_create()) {
    if (!request_.password) return create_after_hash();
    step_ = step::hashing;
    return {.what = server_action::kind::hash_password, .password = *request_.password, .hash_budget = hash_budget_};
  }
  // Check order: room, then whatever would refuse the join anyway and tells nothing of who is
  // inside (the room's capacity and join rate, the client's own tokens), then the password, then
  // the name, so that someone without the password learns nothing about who is inside, and
  // someone with it cannot make the server hash for a join that cannot succeed.
  if (!found_.password) return join_after_password();
  if (!request_.password) return check_password();
  step_ = step::checking;
  return {.what = server_action::kind::check_room, .room = room_};
}

server_action server_exchange::on_room_checked(std::optional<errc> refusal) {
  if (refusal) return map_admission_failure(*refusal);
  return check_password();
}

server_action server_exchange::check_password() {
  if (request_.password && !take(admission_ledger::resource::token))
    return refuse(refusal::tokens_per_ip, frame_state::completion);
  // Refused without hashing: guessing costs the guesser time, not the server CPU (nor its hash
  // budget).
  switch (ledger_.may_try_password(client_, room_)) {
    case password_budget::open: break;
    case password_budget::client_spent: return refuse(refusal::password_failures, frame_state::completion);
    case password_budget::room_spent: return refuse(refusal::room_password_failures, frame_state::completion);
  }
  // A join without a password guesses nothing, so it spends no one's budget (charging the room
  // for it would let anyone lock a room's door for free).
  if (!request_.password) return refuse(refusal::password_needed, frame_state::completion);
  // The address's one hash slot, held until the failure (if any) is recorded: two attempts at
  // once cannot both pass the failure budget's last try. Then one hash of its hash budget.
  if (const auto no = take_hash()) return refuse(*no, frame_state::completion);
  step_ = step::verifying;
  return {.what = server_action::kind::verify_password,
          .password = *request_.password,
          .stored = &*found_.password,
          .hash_budget = hash_budget_};
}

server_action server_exchange::on_hashed(std::optional<password_hash> hash) {
  give_back(admission_ledger::resource::hash);
  if (!hash) return refuse(refusal::hash_queue_full, frame_state::completion);
  new_password_ = std::move(hash);
  return create_after_hash();
}

server_action server_exchange::create_after_hash() {
  set_admission(&new_password_);
  step_ = step::creating;
  return {.what = server_action::kind::create_room, .request = &admission_};
}

server_action server_exchange::on_verified(std::optional<bool> right) {
  if (right && !*right) {
    ledger_.password_failed(client_, room_);  // before the slot goes back: see check_password
    return refuse(refusal::wrong_password, frame_state::completion);
  }
  give_back(admission_ledger::resource::hash);
  if (!right) return refuse(refusal::hash_queue_full, frame_state::completion);
  verified_ = true;
  return join_after_password();
}

server_action server_exchange::join_after_password() {
  if (!take(admission_ledger::resource::token)) return refuse(refusal::tokens_per_ip, frame_state::completion);
  set_admission(nullptr);
  step_ = step::admitting;
  return {.what = server_action::kind::admit, .request = &admission_};
}

server_action server_exchange::on_admitted(const boost::system::result<issued_token>& issued) {
  if (!issued) return map_admission_failure(static_cast<errc>(issued.error().value()));
  // The room holds the address's token (and, created, the room) from now on.
  holds_token_ = false;
  holds_room_ = false;
  completion_response done{is_create(), issued->token, config_.udp_port, issued->host, std::nullopt, std::nullopt};
  if (!config_.udp_host.empty()) done.udp_host = config_.udp_host;
  if (secure_) {
    done.session = issued->session;
    // Only inside the sealed completion: the current key vouches for the next one.
    done.next_key = config_.next_key;
    if (config_.key_datagrams != default_key_datagrams) done.key_datagrams = config_.key_datagrams;
  }
  outcome_.what = is_create() ? exchange_outcome::kind::created : exchange_outcome::kind::joined;
  return reply(frame_state::completion, encode_completion(done), true);
}

server_action server_exchange::map_admission_failure(errc e) {
  if (is_create()) {
    if (e == errc::overloaded) return refuse(refusal::cluster_unavailable, frame_state::completion);
    return refuse(e == errc::room_limit ? refusal::max_rooms : refusal::created_meanwhile, frame_state::completion);
  }
  // A right password that still gets no token, because of who the client is or says it is, cost
  // a hash for nothing: it counts as a failed try, or whoever knows one password could loop such
  // joins and keep the hash workers busy (room_full and join_rate are checked before the hash).
  if (verified_ && (e == errc::name_taken || e == errc::encryption_required || e == errc::encryption_mismatch))
    ledger_.password_failed(client_, room_);
  switch (e) {
    case errc::name_taken: return refuse(refusal::name_taken, frame_state::completion);
    case errc::room_full: return refuse(refusal::room_full, frame_state::completion);
    case errc::rate_limited: return refuse(refusal::join_rate, frame_state::completion);
    case errc::encryption_required: return refuse(refusal::room_encrypted, frame_state::completion);
    case errc::encryption_mismatch: return refuse(refusal::room_not_encrypted, frame_state::completion);
    default: return refuse(refusal::room_closed, frame_state::completion);
  }
}

// ---- replies ----

server_action server_exchange::on_written() {
  if (step_ == step::finishing) {
    step_ = step::done;
    return {.what = server_action::kind::close};
  }
  return after_accepted();
}

server_action server_exchange::refuse(refusal why, frame_state state) {
  outcome_.what = exchange_outcome::kind::refused;
  outcome_.why = why;
  give_back_all();
  return reply(state, encode_error({refusal_error(why), sentence(why)}), true);
}

server_action server_exchange::reply(frame_state state, const std::string& json, bool last) {
  // Once the request opened, every reply is sealed to this client: its status, its token.
  const std::string body = !secure_                            ? json
                           : state == frame_state::response ? secure_->seal_response(json)
                                                            : secure_->seal_completion(json);
  last_reply_ = json;
  out_ = encode_frame(operation_, state, room_, body);
  step_ = last ? step::finishing : step::accepting;
  return {.what = server_action::kind::write, .bytes = out_, .last = last};
}

std::string server_exchange::sentence(refusal why) const {
  std::string limit;
  if (why == refusal::rooms_per_ip) limit = std::to_string(config_.rooms_per_address);
  if (why == refusal::tokens_per_ip) limit = std::to_string(config_.tokens_per_address);
  if (why == refusal::room_full) limit = std::to_string(config_.max_members);
  if (why == refusal::clock_skew) limit = std::to_string(config_.request_skew.count());
  const auto off = clock_offset_.count();
  const std::string offset = std::to_string(off < 0 ? -off : off) + (off < 0 ? " s behind" : " s ahead of");
  return fill(row_of(why).sentence, {{"room", quoted(room_)},
                                     {"username", quoted(request_.username)},
                                     {"limit", limit},
                                     {"offset", offset},
                                     {"reason", outcome_.request_error.message()}});
}

// ---- reservations ----

void server_exchange::set_admission(const std::optional<password_hash>* password) {
  admission_ = {room_, request_.username, client_, password, {}};
  if (secure_)
    admission_.make_channel = [keys = secure_->keys(config_.key_datagrams)](std::uint64_t id) {
      return keys.make_channel(id);
    };
}

bool& server_exchange::held(admission_ledger::resource what) noexcept {
  return what == admission_ledger::resource::room    ? holds_room_
         : what == admission_ledger::resource::token ? holds_token_
                                                     : holds_hash_;
}

bool server_exchange::take(admission_ledger::resource what) {
  bool& held = this->held(what);
  if (held) return true;
  held = ledger_.reserve(what, client_);
  return held;
}

std::optional<refusal> server_exchange::take_hash() {
  if (holds_hash_) return std::nullopt;
  const hash_grant grant = ledger_.reserve_hash(client_, room_);
  holds_hash_ = grant.granted();
  hash_budget_ = grant.budget_left;
  switch (grant.what) {
    case hash_grant::verdict::granted: return std::nullopt;
    case hash_grant::verdict::too_fast: return refusal::hash_rate;
    case hash_grant::verdict::in_flight:
    case hash_grant::verdict::table_full: break;
  }
  return refusal::hash_per_ip;
}

void server_exchange::give_back(admission_ledger::resource what) {
  bool& held = this->held(what);
  if (!held) return;
  held = false;
  ledger_.release(what, client_);
}

void server_exchange::give_back_all() {
  give_back(admission_ledger::resource::hash);
  give_back(admission_ledger::resource::token);
  give_back(admission_ledger::resource::room);
}

void server_exchange::on_failed() {
  give_back_all();
  step_ = step::done;
}

}  // namespace libchat
