// Replayed handshake requests (issue 10, item 6), over real sockets against the real server: an
// eavesdropper records a sealed join and a sealed create as the C++ test client sends them, and
// sends the same bytes again from another address of the same network (127.0.0.2, .3). Before the
// request carried a time and the server remembered ephemerals, the join ran scrypt again and was
// issued a token for the victim's name (who then got name_taken), the reply's state-2 frame told
// whether the recorded password still worked, and the create re-opened a closed room with the
// victim's password.
#include "attack_support.hpp"
#include "server_process.hpp"
#include "wire_client.hpp"

#include "libchat/control.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace chat_test;
using attack_support::clock_type;
using attack_support::count_in;
using attack_support::ms_since;
using attack_support::report;
using libchat::operation;

TEST_CASE("attack: a recorded sealed join or create, replayed from another address, is refused unhashed",
          "[integration][attack][replay]") {
  // A costly hash (2^15, the default), so that a hash in the replay's path would show in its time.
  server_process server({"--password-cost", "15"}, /*encrypted_only=*/true);
  const auto key = fetch_server_key(server.tcp_port());

  const auto t_create = clock_type::now();
  auto alice =
      join_secure(server.tcp_port(), server.udp_port(), operation::create_room, "vault", "alice", "s3cret", key);
  const double create_ms = ms_since(t_create);
  REQUIRE(alice.member);
  const auto t_join = clock_type::now();
  auto bob = join_secure(server.tcp_port(), server.udp_port(), operation::join_room, "vault", "bob", "s3cret", key);
  const double join_ms = ms_since(t_join);
  REQUIRE(bob.member);
  const std::vector<std::uint8_t> recorded_join = bob.request, recorded_create = alice.request;

  // Bob leaves; the eavesdropper replays his join from another address of the network.
  bob.member->say(libchat::encode_control(libchat::control_type::leave));
  REQUIRE(server.wait_for_log("room 'vault': 'bob' left"));
  const auto t_replay = clock_type::now();
  const auto replayed = tcrp_exchange(server.tcp_port(), recorded_join, "127.0.0.2");
  const double replay_ms = ms_since(t_replay);
  CHECK(server.wait_for_log("handshake from 127.0.0.2:"));
  CHECK(server.wait_for_log("rejected: bad_request replayed"));
  // One sealed state-1 frame and nothing more: no state 2 to tell a working password by its size.
  CHECK(replayed.size() == 1);
  REQUIRE_FALSE(replayed.empty());
  CHECK(replayed[0].state == 1);
  CHECK(libchat::is_sealed_request(replayed[0].payload));
  // No second token for 'bob', and no password check: the log of a hashed join names its outcome.
  const std::string log = server.log();
  CHECK(count_in(log, "token issued to 'bob'") == 1);
  CHECK(count_in(log, "bad_password") == 0);

  // The victim keeps the name: a fresh join of his goes through.
  auto back = join_secure(server.tcp_port(), server.udp_port(), operation::join_room, "vault", "bob", "s3cret", key);
  CHECK(back.member);
  CHECK_FALSE(back.error);

  // The room closes; its recorded create, replayed, does not re-open it with alice's password.
  alice.member->say(libchat::encode_control(libchat::control_type::leave));
  REQUIRE(server.wait_for_log("room 'vault' closed"));
  const auto t_recreate = clock_type::now();
  const auto recreated = tcrp_exchange(server.tcp_port(), recorded_create, "127.0.0.3");
  const double recreate_ms = ms_since(t_recreate);
  CHECK(recreated.size() == 1);
  REQUIRE_FALSE(recreated.empty());
  CHECK(recreated[0].state == 1);
  CHECK(server.wait_for_log("handshake from 127.0.0.3:"));  // the log line may trail the reply
  CHECK(count_in(server.log(), "rejected: bad_request replayed") == 2);
  const auto probe =
      join_secure(server.tcp_port(), server.udp_port(), operation::join_room, "vault", "eve", std::nullopt, key);
  CHECK((probe.error && probe.error->error == libchat::tcrp_error::room_not_found));

  const std::string probe_outcome = probe.error ? std::string(libchat::wire_name(probe.error->error)) : "JOINED";
  report(
      "attack: replayed sealed requests (password cost 2^15): create %.1f ms and join %.1f ms with hashing; the "
      "join replayed from 127.0.0.2 answered in %.1f ms, the create replayed from 127.0.0.3 in %.1f ms, with %zu "
      "and %zu frames (the first of %zu and %zu bytes); tokens issued to 'bob': %zu; his "
      "fresh join: %s; a join to the closed room after the replayed create: %s",
      create_ms, join_ms, replay_ms, recreate_ms, replayed.size(), recreated.size(), replayed[0].payload.size(),
      recreated[0].payload.size(), count_in(server.log(), "token issued to 'bob'"), back.member ? "joined" : "REFUSED",
      probe_outcome.c_str());
  // Refused before any hash: far quicker than one.
  CHECK(replay_ms < join_ms);
  CHECK(recreate_ms < create_ms);
}
