// A scripted world for libchat::server_exchange: rooms in a map, password hashes done at once,
// the per-address limits on a fake clock, and a failure that can be injected at any step. run()
// plays one whole exchange and returns its transcript: every action the machine asked for, every
// frame it wrote, and how it ended. No sockets, no threads, no sleeps.
#pragma once

#include "libchat/address_limits.hpp"
#include "libchat/replay_cache.hpp"
#include "libchat/room.hpp"
#include "libchat/server_exchange.hpp"
#include "libchat/tcrp.hpp"
#include "support/fake_clock.hpp"
#include "support/hex.hpp"
#include "support/recording_output.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chat_test {

/// The ledger over a real libchat::address_limits, with the test's clock.
class clocked_ledger final : public libchat::admission_ledger {
 public:
  clocked_ledger(const libchat::address_limit_config& config, fake_clock& clock) : limits(config), clock_(clock) {}
  bool reserve(resource what, const libchat::ip_address& ip) override { return limits.reserve(what, ip, clock_.now); }
  libchat::hash_grant reserve_hash(const libchat::ip_address& ip, std::string_view room) override {
    return limits.reserve_hash(ip, room, clock_.now);
  }
  void release(resource what, const libchat::ip_address& ip) override { limits.release(what, ip, clock_.now); }
  libchat::password_budget may_try_password(const libchat::ip_address& ip, std::string_view room) override {
    return limits.may_try_password(ip, room, clock_.now);
  }
  void password_failed(const libchat::ip_address& ip, std::string_view room) override {
    limits.password_failed(ip, room, clock_.now);
  }
  libchat::address_limits limits;

 private:
  fake_clock& clock_;
};

/// Where the script breaks the exchange.
struct fault {
  enum class kind {
    none,
    read_fails,           ///< the connection fails instead of the `at`-th read completing
    write_fails,          ///< the `at`-th write fails (the peer is gone)
    hash_queue_full,      ///< the hash workers refuse the job
    room_closes,          ///< the room found by find_room closes before the admission runs
    create_race,          ///< another create of the same name lands between lookup and insert
    table_fills,          ///< the table reaches max_rooms between lookup and insert
    fails_while_hashing,  ///< the deadline fires while the hash runs
    forwarded_at_route    ///< (route_joins) the adapter forwards the join: on_failed at route
  };
  kind what = kind::none;
  int at = 1;
};

struct written_frame {
  std::uint8_t operation = 0;
  libchat::frame_state state{};
  std::string room;
  std::string payload;  // as sent (sealed, for an encrypted exchange)
};

struct transcript {
  std::vector<std::string>
      steps;  // "read", "find_room", "write", "hash", "verify", "create", "admit", "close", "failed"
  std::vector<written_frame> frames;
  libchat::exchange_outcome outcome;
  std::vector<std::string> replies;  // each reply's JSON before sealing
  std::string step_line() const {
    std::string s;
    for (const auto& step : steps) s += (s.empty() ? "" : " ") + step;
    return s;
  }
};

class server_world {
 public:
  /// No hash budget by default: a client that hashed is otherwise remembered until its budget
  /// recovers, and most tests check that an exchange leaves nothing behind (the budget's tests
  /// set their own limits).
  libchat::address_limit_config limits_config{.hash_rate = {0, 10}};
  libchat::room_limits room_config;
  libchat::server_exchange_config config{.allow_plaintext = true, .udp_port = 9001};
  std::size_t max_rooms = 100;
  std::size_t read_chunk = 1 << 20;  ///< bytes handed over per read (1: every split point)
  fake_clock clock;
  libchat::server_key key = libchat::server_key::generate();
  clocked_ledger ledger{limits_config, clock};
  /// The server's wall clock (what a sealed request's time is checked against) and its memory of
  /// sealed requests. Sealed requests in tests carry `wall_now` unless they test the time.
  libchat::wall_time wall_now = libchat::wall_time(std::chrono::seconds(1'767'225'600));  // 2026-01-01
  libchat::replay_cache replays;
  recording_output out;
  std::map<std::string, std::unique_ptr<libchat::room>> rooms;
  libchat::ip_address client = libchat::ip_address::from_v4({10, 0, 0, 7});

  /// Cheap scrypt so that a test can hash many times.
  libchat::password_params hash_params{.log2_cost = 4, .block_size = 8, .parallelism = 1};

  libchat::password_hash hash(std::string_view password) const { return libchat::hash_password(password, hash_params); }

  /// Adds an open room whose host `host` is admitted (from another address).
  libchat::room& add_room(const std::string& name, std::optional<std::string> password = std::nullopt,
                          bool encrypted = false) {
    std::optional<libchat::password_hash> stored;
    if (password) stored = hash(*password);
    auto r = std::make_unique<libchat::room>(name, stored, room_config);
    libchat::channel_maker maker;
    if (encrypted) maker = [](std::uint64_t) -> std::unique_ptr<libchat::secure_channel> { return nullptr; };
    REQUIRE(r->admit("host", libchat::ip_address::from_v4({10, 0, 0, 1}), clock.now, out, maker).has_value());
    auto& ref = *r;
    rooms[name] = std::move(r);
    return ref;
  }

  transcript run(const byte_vector& request, fault f = {}, libchat::door how = libchat::door::open) {
    transcript t;
    libchat::server_exchange x(config, key, ledger, replays, client, wall_now, how);
    std::size_t fed = 0;
    int reads = 0, writes = 0;
    libchat::room* found = nullptr;
    // The connection fails here: the exchange ends without an answer.
    auto failed = [&] {
      t.steps.push_back("failed");
      x.on_failed();
      t.outcome = x.outcome();
      return t;
    };
    auto action = x.start();
    for (int guard = 0; guard < 100000; ++guard) {
      using kind = libchat::server_action::kind;
      switch (action.what) {
        case kind::read: {
          t.steps.push_back("read");
          ++reads;
          if ((f.what == fault::kind::read_fails && f.at == reads) || fed == request.size()) {
            return failed();
          }
          const std::size_t n = std::min({action.buffer.size(), request.size() - fed, read_chunk});
          std::copy_n(request.begin() + static_cast<std::ptrdiff_t>(fed), n, action.buffer.begin());
          fed += n;
          action = x.on_read(n);
          // Consecutive reads are one step in the transcript.
          if (t.steps.size() >= 2 && t.steps[t.steps.size() - 2] == "read") t.steps.pop_back();
          break;
        }
        case kind::write: {
          t.steps.push_back(action.last ? "write-last" : "write");
          ++writes;
          t.frames.push_back(parse(action.bytes));
          t.replies.emplace_back(x.last_reply());
          if (f.what == fault::kind::write_fails && f.at == writes) {
            return failed();
          }
          action = x.on_written();
          break;
        }
        case kind::route: {
          t.steps.push_back("route");
          if (f.what == fault::kind::forwarded_at_route) return failed();
          action = x.on_routed();
          break;
        }
        case kind::find_room: {
          t.steps.push_back("find_room");
          auto it = rooms.find(std::string(action.room));
          found = it == rooms.end() || it->second->closed() ? nullptr : it->second.get();
          libchat::room_lookup lookup;
          lookup.found = found != nullptr;
          lookup.at_capacity = rooms.size() >= max_rooms;
          if (found) lookup.password = found->password();
          action = x.on_room_lookup(lookup);
          break;
        }
        case kind::check_room: {
          t.steps.push_back("check");
          REQUIRE(found);
          action = x.on_room_checked(found->may_admit(clock.now));
          break;
        }
        case kind::hash_password:
        case kind::verify_password: {
          const bool verify = action.what == kind::verify_password;
          t.steps.push_back(verify ? "verify" : "hash");
          if (f.what == fault::kind::fails_while_hashing) return failed();
          const bool full = f.what == fault::kind::hash_queue_full;
          if (verify) {
            action = x.on_verified(full ? std::nullopt
                                        : std::optional(libchat::verify_password(action.password, *action.stored)));
          } else {
            action =
                x.on_hashed(full ? std::nullopt : std::optional(libchat::hash_password(action.password, hash_params)));
          }
          break;
        }
        case kind::create_room: {
          t.steps.push_back("create");
          const auto& req = *action.request;
          const std::string name(req.room);
          if (f.what == fault::kind::create_race) add_room(name);
          if (f.what == fault::kind::table_fills) max_rooms = rooms.size();
          if (rooms.count(name)) {
            action = x.on_admitted(make_error_code(libchat::errc::room_exists));
          } else if (rooms.size() >= max_rooms) {
            action = x.on_admitted(make_error_code(libchat::errc::room_limit));
          } else {
            auto r = std::make_unique<libchat::room>(name, *req.password, room_config);
            auto issued = r->admit(req.username, req.ip, clock.now, out, req.make_channel);
            if (issued) rooms[name] = std::move(r);
            action = x.on_admitted(issued);
          }
          break;
        }
        case kind::admit: {
          t.steps.push_back("admit");
          REQUIRE(found);
          if (f.what == fault::kind::room_closes) found->shutdown(out);
          const auto& req = *action.request;
          action = x.on_admitted(found->admit(req.username, req.ip, clock.now, out, req.make_channel));
          break;
        }
        case kind::close:
          t.steps.push_back("close");
          REQUIRE(x.done());
          t.outcome = x.outcome();
          return t;
      }
    }
    FAIL("the exchange never ended");
    return t;
  }

  // By hand rather than with tcrp_reader: a reply to a malformed request may echo an operation
  // that a reader of replies would reject.
  static written_frame parse(libchat::byte_view bytes) {
    REQUIRE(bytes.size() >= libchat::tcrp_header_size);
    std::uint64_t size = 0;
    for (std::size_t i = 3; i < libchat::tcrp_header_size; ++i) size = (size << 8) | bytes[i];
    const std::size_t room_size = bytes[0];
    REQUIRE(bytes.size() == libchat::tcrp_header_size + room_size + size);
    const auto* text = reinterpret_cast<const char*>(bytes.data()) + libchat::tcrp_header_size;
    return {bytes[1], static_cast<libchat::frame_state>(bytes[2]), std::string(text, room_size),
            std::string(text + room_size, size)};
  }
};

}  // namespace chat_test
