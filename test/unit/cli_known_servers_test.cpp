#include "known_servers.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

using namespace chat_cli;

namespace {

// Real fingerprints (chat-server's format): "SHA256:" and 43 characters of unpadded base64.
const std::string key_a = "SHA256:ILeKSZxsEjp5M1e7946gqhE1uKObflYxEyPsbzGcwqk";
const std::string key_b = "SHA256:SpYkfOWxRjQgA0HJnAbdprnpgEaT9BMb7hUWdnOmdOA";

// A directory of its own under /tmp, removed with everything in it at the end of the test.
class temp_dir {
 public:
  temp_dir() {
    char name[] = "/tmp/cli-known-servers-XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path_ = name;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

unsigned mode_of(const std::string& path) {
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  return info.st_mode & 07777;
}

}  // namespace

TEST_CASE("fingerprints are accepted only in chat-server's format", "[cli][known_servers]") {
  CHECK(normalise_fingerprint(key_a) == key_a);
  CHECK(normalise_fingerprint(key_a + "=") == key_a);   // the padded spelling of the same digest
  CHECK_FALSE(normalise_fingerprint(key_a.substr(7)));  // no "SHA256:"
  CHECK_FALSE(normalise_fingerprint("sha256:" + key_a.substr(7)));
  CHECK_FALSE(normalise_fingerprint(key_a.substr(0, key_a.size() - 1)));  // a character short
  CHECK_FALSE(normalise_fingerprint(key_a + "A"));                        // one too many
  CHECK_FALSE(normalise_fingerprint(key_a + "=="));
  CHECK_FALSE(normalise_fingerprint("SHA256:ILeKSZxsEjp5M1e7946gqhE1uKObflYxEyPsbzGcw-k"));  // base64url
  // 43 characters carry two bits too many: they must be zero ('k' is 36, 'l' is 37).
  CHECK_FALSE(normalise_fingerprint("SHA256:ILeKSZxsEjp5M1e7946gqhE1uKObflYxEyPsbzGcwql"));
  CHECK_FALSE(normalise_fingerprint(""));
}

TEST_CASE("a server is named host:port, an IPv6 address in brackets", "[cli][known_servers]") {
  CHECK(server_id("127.0.0.1", 9000) == "127.0.0.1:9000");
  CHECK(server_id("Chat.Example.ORG", 443) == "chat.example.org:443");
  CHECK(server_id("::1", 9000) == "[::1]:9000");
  CHECK(server_id("fe80::1%eth0", 1) == "[fe80::1%eth0]:1");
}

TEST_CASE("the file: entries, comments, blank lines and bad lines", "[cli][known_servers]") {
  // clang-format off
  const std::string text = "# pinned by chat-client\n"
                           "\n"
                           "127.0.0.1:9000 " + key_a + "\n"
                           "  [::1]:9000\t" + key_b + "   # the laptop\r\n"
                           "Chat.Example.org:9000 " + key_b + "\n"
                           "no-port " + key_a + "\n"
                           "host:0 " + key_a + "\n"
                           "host:9000 not-a-fingerprint\n"
                           "host:9000 " + key_a + " trailing words\n"
                           "host:9000\n"
                           "   # an indented comment\n"
                           "last:1 " + key_a;  // no final newline
  // clang-format on
  const known_servers file = parse_known_servers(text);
  REQUIRE(file.entries.size() == 4);
  CHECK(file.entries[0].server == "127.0.0.1:9000");
  CHECK(file.entries[0].fingerprint == key_a);
  CHECK(file.entries[0].line == 3);
  CHECK(file.entries[1].server == "[::1]:9000");
  CHECK(file.entries[1].fingerprint == key_b);
  CHECK(file.entries[2].server == "chat.example.org:9000");  // host names compare in lower case
  CHECK(file.entries[3].server == "last:1");
  CHECK(file.entries[3].line == 12);
  CHECK(file.bad_lines == std::vector<std::size_t>{6, 7, 8, 9, 10});

  CHECK(parse_known_servers("").entries.empty());
  CHECK(parse_known_servers("\n\n# only comments\n").bad_lines.empty());
}

TEST_CASE("a key is unknown, pinned, or not the pinned one", "[cli][known_servers]") {
  const known_servers file = parse_known_servers("a:1 " + key_a + "\nb:2 " + key_b + "\nb:2 " + key_a + "\n");
  CHECK(check_pin(file, "c:3", key_a).status == pin_status::unknown);
  CHECK(check_pin(file, "a:1", key_a).status == pin_status::match);
  CHECK(check_pin(file, "a:2", key_a).status == pin_status::unknown);  // another port is another server
  const pin_check changed = check_pin(file, "a:1", key_b);
  CHECK(changed.status == pin_status::mismatch);
  CHECK(changed.pinned.fingerprint == key_a);
  CHECK(changed.pinned.line == 1);
  // Two lines for one server (two first contacts at once): either key is the server's.
  CHECK(check_pin(file, "b:2", key_a).status == pin_status::match);
  CHECK(check_pin(file, "b:2", key_b).status == pin_status::match);
}

TEST_CASE("the line written on first contact reads back as the same pin", "[cli][known_servers]") {
  const std::string line = known_server_line("[::1]:9000", key_a);
  CHECK(line == "[::1]:9000 " + key_a + "\n");
  const known_servers file = parse_known_servers(line);
  REQUIRE(file.entries.size() == 1);
  CHECK(check_pin(file, server_id("::1", 9000), key_a).status == pin_status::match);
}

TEST_CASE("the file lives under XDG_CONFIG_HOME, else under ~/.config", "[cli][known_servers]") {
  CHECK(default_known_servers_path("/x/config", "/home/u") == "/x/config/libchat/known_servers");
  CHECK(default_known_servers_path(nullptr, "/home/u") == "/home/u/.config/libchat/known_servers");
  CHECK(default_known_servers_path("", "/home/u/") == "/home/u/.config/libchat/known_servers");
  CHECK(default_known_servers_path("relative", "/home/u") == "/home/u/.config/libchat/known_servers");
  CHECK(default_known_servers_path(nullptr, "/") == "/.config/libchat/known_servers");
  CHECK_FALSE(default_known_servers_path(nullptr, nullptr));
  CHECK_FALSE(default_known_servers_path("relative", ""));

  CHECK(display_path("/home/u/.config/libchat/known_servers", "/home/u") == "~/.config/libchat/known_servers");
  CHECK(display_path("/home/u/.config/libchat/known_servers", "/home/u/") == "~/.config/libchat/known_servers");
  CHECK(display_path("/home/user2/f", "/home/u") == "/home/user2/f");
  CHECK(display_path("/etc/f", nullptr) == "/etc/f");
  CHECK(display_path("/etc/f", "/") == "/etc/f");
}

TEST_CASE("first contact creates the directories 0700 and the file 0600", "[cli][known_servers]") {
  temp_dir dir;
  const std::string path = dir.path() + "/config/libchat/known_servers";
  std::string error;
  CHECK(read_known_servers(path, error) == "");  // absent: nothing pinned yet
  CHECK(error.empty());

  CHECK(append_known_server(path, "127.0.0.1:9000", key_a) == "");
  CHECK(mode_of(dir.path() + "/config") == 0700);
  CHECK(mode_of(dir.path() + "/config/libchat") == 0700);
  CHECK(mode_of(path) == 0600);
  CHECK(append_known_server(path, "[::1]:9000", key_b) == "");
  CHECK(slurp(path) == "127.0.0.1:9000 " + key_a + "\n[::1]:9000 " + key_b + "\n");

  const auto text = read_known_servers(path, error);
  REQUIRE(text);
  const known_servers file = parse_known_servers(*text);
  CHECK(check_pin(file, "127.0.0.1:9000", key_a).status == pin_status::match);
  CHECK(check_pin(file, "[::1]:9000", key_a).status == pin_status::mismatch);
}

TEST_CASE("a line is appended after a hand-edited last line without a newline", "[cli][known_servers]") {
  temp_dir dir;
  const std::string path = dir.path() + "/known_servers";
  {
    std::ofstream out(path, std::ios::binary);
    out << "# mine\na:1 " << key_a;
  }
  CHECK(append_known_server(path, "b:2", key_b) == "");
  CHECK(slurp(path) == "# mine\na:1 " + key_a + "\nb:2 " + key_b + "\n");
  CHECK(parse_known_servers(slurp(path)).entries.size() == 2);
}

TEST_CASE("a file that cannot be read or written is reported, not ignored", "[cli][known_servers]") {
  temp_dir dir;
  std::string error;
  // A directory where the file should be: it exists and cannot be read as a file.
  const std::string directory = dir.path() + "/known_servers";
  REQUIRE(::mkdir(directory.c_str(), 0700) == 0);
  CHECK_FALSE(read_known_servers(directory, error));
  CHECK(error.find(directory) != std::string::npos);
  CHECK(append_known_server(directory, "a:1", key_a).find("cannot write") != std::string::npos);
  // A file where a directory should be.
  const std::string blocker = dir.path() + "/file";
  { std::ofstream(blocker) << "x"; }
  CHECK(append_known_server(blocker + "/libchat/known_servers", "a:1", key_a).find("cannot") != std::string::npos);
}

// Issue 10, item 10: the resolved address is pinned too (SSH's CheckHostIP), and "@next" lines
// hold the key a server announced for its rotation.
TEST_CASE("@next lines are read apart from pins", "[cli][known_servers]") {
  const known_servers file = parse_known_servers("a:1 " + key_a + "\n@next a:1 " + key_b + " # rotation\n@next a:1\n");
  REQUIRE(file.entries.size() == 2);
  CHECK_FALSE(file.entries[0].next);
  CHECK(file.entries[1].next);
  CHECK(file.entries[1].fingerprint == key_b);
  CHECK(file.bad_lines == std::vector<std::size_t>{3});
  // A next key is not a pin: check_pin sees only a:1's pin of key_a.
  CHECK(check_pin(file, "a:1", key_b).status == pin_status::mismatch);
  CHECK(parse_known_servers(next_key_line("a:1", key_b)).entries.at(0).next);
}

TEST_CASE("a name and the address it resolved to", "[cli][known_servers]") {
  const std::string name = "localhost:9000", address = "127.0.0.1:9000";
  SECTION("neither is pinned: a first contact pins both") {
    const auto d = decide_trust(parse_known_servers(""), name, address, key_a);
    CHECK(d.verdict == trust_verdict::first_contact);
    CHECK(d.to_pin == std::vector<std::string>{name, address});
  }
  SECTION("an address typed as the name is pinned once") {
    const auto d = decide_trust(parse_known_servers(""), address, address, key_a);
    CHECK(d.to_pin == std::vector<std::string>{address});
  }
  SECTION("a new name for a pinned address with the same key is not a first contact") {
    const auto d = decide_trust(parse_known_servers(address + " " + key_a + "\n"), name, address, key_a);
    CHECK(d.verdict == trust_verdict::known_by_address);
    CHECK(d.to_pin == std::vector<std::string>{name});
  }
  SECTION("a new name for a pinned address with another key is a mismatch") {
    const auto d = decide_trust(parse_known_servers("# c\n" + address + " " + key_a + "\n"), name, address, key_b);
    CHECK(d.verdict == trust_verdict::address_mismatch);
    CHECK(d.pinned.line == 2);
  }
  SECTION("a pinned name with a new address pins the address") {
    const auto d = decide_trust(parse_known_servers(name + " " + key_a + "\n"), name, address, key_a);
    CHECK(d.verdict == trust_verdict::known);
    CHECK(d.to_pin == std::vector<std::string>{address});
  }
  SECTION("a pinned name whose address is pinned to another key: the name decides, with a warning") {
    const auto d = decide_trust(parse_known_servers(name + " " + key_a + "\n" + address + " " + key_b + "\n"), name,
                                address, key_a);
    CHECK(d.verdict == trust_verdict::known);
    CHECK(d.to_pin.empty());
    REQUIRE(d.address_conflict);
    CHECK(d.address_conflict->line == 2);
  }
  SECTION("the pinned name with another key is a mismatch") {
    CHECK(decide_trust(parse_known_servers(name + " " + key_a + "\n"), name, address, key_b).verdict ==
          trust_verdict::mismatch);
  }
}

TEST_CASE("a rotation: the announced key is accepted and replaces the old pins", "[cli][known_servers]") {
  const std::string name = "chat:9000", address = "10.0.0.1:9000";
  const std::string text = "# mine\n" + name + " " + key_a + "\n" + address + " " + key_a + "\nother:1 " + key_a +
                           "\n" + next_key_line(name, key_b) + next_key_line(address, key_b);
  const known_servers file = parse_known_servers(text);
  CHECK(decide_trust(file, name, address, key_a).verdict == trust_verdict::known);
  const auto d = decide_trust(file, name, address, key_b);
  REQUIRE(d.verdict == trust_verdict::rotated);
  const std::string after = rotated_text(text, file, d.to_pin, key_b);
  CHECK(after == "# mine\nother:1 " + key_a + "\n" + name + " " + key_b + "\n" + address + " " + key_b + "\n");
  const known_servers rotated = parse_known_servers(after);
  CHECK(decide_trust(rotated, name, address, key_b).verdict == trust_verdict::known);
  CHECK(decide_trust(rotated, name, address, key_a).verdict == trust_verdict::mismatch);
  // Another key than the announced one is still a mismatch.
  CHECK(decide_trust(file, name, address, "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU").verdict ==
        trust_verdict::mismatch);
}

TEST_CASE("an announced next key is recorded once per pinned id", "[cli][known_servers]") {
  const known_servers file =
      parse_known_servers("a:1 " + key_a + "\nb:2 " + key_a + "\n" + next_key_line("a:1", key_b));
  CHECK(missing_next_pins(file, {"a:1", "b:2"}, key_b) == std::vector<std::string>{"b:2"});
  CHECK(missing_next_pins(file, {"a:1"}, key_b).empty());
}

TEST_CASE("the file can be replaced atomically, and a file in the path reads as no file", "[cli][known_servers]") {
  temp_dir dir;
  const std::string path = dir.path() + "/known_servers";
  REQUIRE(append_known_server(path, "a:1", key_a).empty());
  CHECK(replace_known_servers(path, "b:2 " + key_b + "\n").empty());
  CHECK(slurp(path) == "b:2 " + key_b + "\n");
  CHECK(mode_of(path) == 0600);
  const std::string blocker = dir.path() + "/file";
  { std::ofstream(blocker) << "x"; }
  std::string error;
  CHECK(read_known_servers(blocker + "/known_servers", error) == "");
  CHECK(append_known_lines(blocker + "/known_servers", "a:1 " + key_a + "\n").find("cannot write") !=
        std::string::npos);
}
