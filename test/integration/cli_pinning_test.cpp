// Issue 10, item 10: trust on first use, over real sockets with the real chat-client. The
// resolved address is pinned with the name (SSH's CheckHostIP); a pin that cannot be stored stops
// the client unless --accept-unpinned; a server in a key rotation announces its next key in the
// sealed completion, and the client accepts it once the server switches to it.
#include "client_process.hpp"
#include "fake_key_server.hpp"
#include "server_process.hpp"

#include <libchat/secure_handshake.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

using namespace chat_test;

namespace {

// A directory of its own under /tmp: HOME for chat-client, and the known-servers file.
class temp_home {
 public:
  temp_home() {
    char name[] = "/tmp/chat-client-pinning-XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path_ = name;
  }
  ~temp_home() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string known() const { return (path_ / "known_servers").string(); }

 private:
  std::filesystem::path path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// chat-client creating `room` at `server` (stdin is /dev/null: it leaves at once, exit 0).
client_run create_room(const temp_home& home, const std::string& server, const std::string& room,
                       std::vector<std::string> extra = {}, const std::string& known = "") {
  std::vector<std::string> args{"--server", server,  "--create",        room,
                                "--name",   "alice", "--known-servers", known.empty() ? home.known() : known};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_client(args, {"HOME=" + home.path().string(), "XDG_CONFIG_HOME"});
}

// The fingerprint a start-up line gives after `label` ("server key ", "next server key ").
std::string logged_fingerprint(const server_process& s, const std::string& label) {
  std::smatch m;
  const std::string log = s.log();
  const std::regex line("(^|\\n)[^\\n]*\\] " + label + "(SHA256:[A-Za-z0-9+/]{43})");
  if (!std::regex_search(log, m, line)) return {};
  return m[2];
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("localhost and 127.0.0.1 are one first contact: the resolved address is pinned", "[integration][cli]") {
  server_process server({}, true);
  temp_home home;
  const std::string port = std::to_string(server.tcp_port());
  const std::string fingerprint = logged_fingerprint(server, "server key ");
  REQUIRE(!fingerprint.empty());

  const auto first = create_room(home, "localhost:" + port, "one");
  INFO("first: " << first.err);
  CHECK(first.exit_code == 0);
  CHECK(first.err.find("first contact with localhost:" + port + " (127.0.0.1:" + port + ")") != std::string::npos);
  const std::string pins = slurp(home.known());
  CHECK(pins == "localhost:" + port + " " + fingerprint + "\n127.0.0.1:" + port + " " + fingerprint + "\n");

  const auto second = create_room(home, "127.0.0.1:" + port, "two");
  INFO("second: " << second.err);
  CHECK(second.exit_code == 0);
  CHECK(second.err.find("first contact") == std::string::npos);
  CHECK(slurp(home.known()) == pins);  // nothing new to pin

  // The other way round: a file that pinned only the address (as older clients wrote it) makes
  // the name known too, without a first contact.
  temp_home other;
  { std::ofstream(other.known()) << "127.0.0.1:" << port << ' ' << fingerprint << '\n'; }
  const auto by_name = create_room(other, "localhost:" + port, "three");
  INFO("by name: " << by_name.err);
  CHECK(by_name.exit_code == 0);
  CHECK(by_name.err.find("first contact") == std::string::npos);
  CHECK(by_name.err.find("its address 127.0.0.1:" + port + " has this key") != std::string::npos);
  CHECK(occurrences(slurp(other.known()), fingerprint) == 2);
}

TEST_CASE("a new name for an address pinned to another key is a mismatch", "[integration][cli]") {
  libchat::public_key impostor{};
  impostor[0] = 9;  // any usable point: what someone else at the address presents
  fake_key_server fake(impostor);
  temp_home home;
  const std::string port = std::to_string(fake.port());
  const std::string pinned = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";
  { std::ofstream(home.known()) << "127.0.0.1:" << port << ' ' << pinned << '\n'; }
  for (const bool json : {false, true}) {
    const auto run = create_room(home, "localhost:" + port, "lobby",
                                 json ? std::vector<std::string>{"--json"} : std::vector<std::string>{});
    INFO("stdout: " << run.out << "\nstderr: " << run.err);
    CHECK(run.exit_code == 3);
    const std::string& said = json ? run.out : run.err;
    CHECK(said.find("127.0.0.1:" + port) != std::string::npos);
    CHECK(said.find(pinned) != std::string::npos);
    if (json) CHECK(said.find(R"("error":"server_key_mismatch")") != std::string::npos);
  }
  CHECK(fake.other_requests() == 0);  // nothing was sent to it
  CHECK(slurp(home.known()) == "127.0.0.1:" + port + " " + pinned + "\n");
}

TEST_CASE("a pin that cannot be stored stops chat-client unless --accept-unpinned", "[integration][cli]") {
  server_process server({}, true);
  temp_home home;
  const std::string where = "127.0.0.1:" + std::to_string(server.tcp_port());
  // A file where the known-servers file's directory should be: it reads as nothing pinned, and
  // cannot be written (a read-only directory would not do: the tests may run as root).
  const std::string blocker = (home.path() / "config").string();
  { std::ofstream(blocker) << "not a directory"; }
  const std::string known = blocker + "/known_servers";

  const auto plain = create_room(home, where, "lobby", {}, known);
  INFO("plain: " << plain.err);
  CHECK(plain.exit_code == 5);
  CHECK(plain.err.find("could not be pinned") != std::string::npos);
  CHECK(plain.err.find("--accept-unpinned") != std::string::npos);

  const auto json = create_room(home, where, "lobby", {"--json"}, known);
  INFO("json: " << json.out);
  CHECK(json.exit_code == 5);
  CHECK(json.out.find(R"("error":"pin_not_stored")") != std::string::npos);
  CHECK(server.log().find("created by") == std::string::npos);  // nothing reached the room table

  const auto accepted = create_room(home, where, "lobby", {"--accept-unpinned"}, known);
  INFO("accepted: " << accepted.err);
  CHECK(accepted.exit_code == 0);
  CHECK(accepted.err.find("will not be checked next time") != std::string::npos);
}

TEST_CASE("a key rotation: the next key comes in the sealed completion, the switch needs no new pin",
          "[integration][cli]") {
  temp_home home;
  const std::string key_a = (home.path() / "a.key").string(), key_b = (home.path() / "b.key").string();
  std::string fingerprint_a, fingerprint_b, where;
  std::uint16_t tcp_port = 0, udp_port = 0;
  {
    server_process rotating({"--key-file", key_a, "--next-key-file", key_b}, true);
    tcp_port = rotating.tcp_port();
    udp_port = rotating.udp_port();
    where = "127.0.0.1:" + std::to_string(tcp_port);
    fingerprint_a = logged_fingerprint(rotating, "server key ");
    fingerprint_b = logged_fingerprint(rotating, "next server key ");
    REQUIRE(!fingerprint_a.empty());
    REQUIRE(!fingerprint_b.empty());
    REQUIRE(fingerprint_a != fingerprint_b);
    const auto run = create_room(home, where, "lobby");
    INFO("stderr: " << run.err);
    CHECK(run.exit_code == 0);
    CHECK(run.err.find("announced its next key " + fingerprint_b) != std::string::npos);
    CHECK(slurp(home.known()) == where + " " + fingerprint_a + "\n@next " + where + " " + fingerprint_b + "\n");
    // Announced again on the next handshake: recorded once.
    const auto again = create_room(home, where, "lobby");
    CHECK(again.exit_code == 0);
    CHECK(again.err.find("announced") == std::string::npos);
    CHECK(occurrences(slurp(home.known()), fingerprint_b) == 1);
  }
  // The operator switches: the next key becomes the key, at the same address.
  server_process switched(
      {"--key-file", key_b, "--port", std::to_string(tcp_port), "--udp-port", std::to_string(udp_port)}, true);
  const auto run = create_room(home, where, "lobby");
  INFO("stderr: " << run.err);
  CHECK(run.exit_code == 0);
  CHECK(run.err.find("server_key_mismatch") == std::string::npos);
  CHECK(run.err.find("rotated its key to " + fingerprint_b) != std::string::npos);
  CHECK(slurp(home.known()) == where + " " + fingerprint_b + "\n");  // the old key is no longer trusted
}

TEST_CASE("an operation-3 reply never introduces a next key", "[integration][cli]") {
  libchat::public_key key{};
  key[0] = 9;
  libchat::public_key next{};
  next[0] = 10;
  // Operation 3's reply with next-key fields (unauthenticated: anyone at the address can send it).
  std::string reply = libchat::encode_server_key_response(key);
  reply.pop_back();
  reply += R"(,"next_key":"CgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","next_fingerprint":")" +
           libchat::key_fingerprint(next) + "\"}";
  fake_key_server fake(reply);
  temp_home home;
  const std::string where = "127.0.0.1:" + std::to_string(fake.port());
  const auto run = create_room(home, where, "lobby", {"--handshake-timeout", "2"});
  INFO("stderr: " << run.err);
  CHECK(run.exit_code == 3);  // the fake answers nothing after the key
  const std::string pins = slurp(home.known());
  CHECK(pins == where + " " + libchat::key_fingerprint(key) + "\n");
  CHECK(pins.find("@next") == std::string::npos);
  CHECK(pins.find(libchat::key_fingerprint(next)) == std::string::npos);
}
