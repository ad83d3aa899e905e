#include "config.hpp"

#include "server_identity.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iostream>
#include <thread>

namespace chat_server {
namespace po = boost::program_options;

namespace {

constexpr const char* usage_header =
    "Usage: chat-server [options]\n"
    "\n"
    "Chat rooms: clients create or join a room over TCP (TCRP), get a token, then chat over UDP;\n"
    "the server relays each message to the room's other members. See docs/protocol.md.\n"
    "\n"
    "Every option can also be given in a --config file as `name = value`, one per line\n"
    "(command-line flags win over the file).\n";

template <class T>
bool in_range(const po::variables_map& vm, const char* name, T min, T max) {
  const T v = vm[name].as<T>();
  if (v >= min && v <= max) return true;
  std::cerr << "chat-server: --" << name << " must be between " << min << " and " << max << " (got " << v
            << ")\n";
  return false;
}

}  // namespace

bool parse_listen_address(std::string_view text, listen_address& out) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return false;
  std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return false;  // an IPv6 address needs its brackets, or its last group would read as the port
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value > 65535) return false;
  out = {std::string(host), static_cast<std::uint16_t>(value)};
  return true;
}

parse_outcome parse_command_line(int argc, const char* const argv[]) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  server_config c;
  c.threads = cores;
  c.hash_workers = std::min(2u, cores);

  po::options_description general("General");
  general.add_options()
      ("help,h", "Show this help and exit.")
      ("version", "Show the version and exit.")
      ("config", po::value<std::string>(), "Read options from FILE (INI style: `port = 9000`).")
      ("log-level", po::value<std::string>()->default_value(c.log_level),
       "Least severe log level shown: trace, debug, info, warn, error, critical or off.")
      ("stats-interval", po::value<long>()->default_value(c.stats_interval.count()),
       "Seconds between statistics lines (counters by drop reason, rooms, members); 0 disables. "
       "SIGUSR1 prints one at any time.");

  po::options_description network("Network");
  network.add_options()
      ("bind", po::value<std::string>()->default_value(c.bind_address),
       "Address to listen on for TCP and UDP. Use 0.0.0.0 or :: to accept from other machines.")
      ("port", po::value<unsigned>()->default_value(c.tcp_port),
       "TCP port for the room handshake (TCRP). 0 picks a free port; the start-up line says which.")
      ("udp-port", po::value<unsigned>(),
       "UDP port for chat datagrams. Defaults to the TCP port (a free one when --port is 0).")
      ("lobby-port", po::value<unsigned>(),
       "Open the plain UDP lobby on this port (0 picks one). Off by default. The lobby has no tokens, "
       "so anyone who can forge a source address can point lobby traffic at a victim: use it only on "
       "trusted networks.")
      ("metrics-listen", po::value<std::string>(),
       "Serve Prometheus metrics over HTTP at http://HOST:PORT/metrics (for example 127.0.0.1:9188; "
       "[::1]:9188 for IPv6; port 0 picks a free one and the start-up line says which). Off by "
       "default. The endpoint has no authentication: bind it to loopback or a private network. "
       "docs/operations.md lists the metrics.")
      ("threads", po::value<unsigned>()->default_value(c.threads),
       "Threads running the I/O pool (default: the number of cores).")
      ("receive-sockets", po::value<unsigned>(),
       "UDP sockets that share the chat port (SO_REUSEPORT), each with its own receive loop "
       "(default: one per thread).")
      ("socket-buffer", po::value<std::size_t>()->default_value(c.socket_buffer),
       "Bytes requested for the UDP socket's receive and send buffers (the kernel caps this at "
       "net.core.rmem_max / wmem_max).");

  po::options_description limits("Limits");
  limits.add_options()
      ("max-payload", po::value<std::size_t>()->default_value(c.max_payload),
       "Largest TCRP payload accepted, in bytes; a larger declared size is answered with bad_request "
       "without reading the body.")
      ("handshake-timeout", po::value<double>()->default_value(5.0),
       "Seconds a TCP client has, from connecting, to send its whole request.")
      ("max-handshakes", po::value<std::size_t>()->default_value(c.max_handshakes),
       "Handshakes in progress at once; more are answered with server_busy.")
      ("max-rooms", po::value<std::size_t>()->default_value(c.max_rooms),
       "Rooms open at once; creating one more is answered with server_busy.")
      ("max-members", po::value<std::size_t>()->default_value(c.room.max_members),
       "Members (tokens) per room; joining one more is answered with room_full.")
      ("inactivity-timeout", po::value<double>()->default_value(60.0),
       "Seconds of silence after which a member is removed (clients send keepalives every 15 s).")
      ("token-ttl", po::value<double>()->default_value(30.0),
       "Seconds a new token has to send its first datagram; a room whose host never does is closed.")
      ("unreachable-limit", po::value<unsigned>()->default_value(c.room.unreachable_limit),
       "ICMP unreachable reports in a row that remove a member, once they span --unreachable-grace.")
      ("unreachable-grace", po::value<double>()->default_value(20.0),
       "Seconds a streak of unreachable reports must last before it removes a member. Reports can be "
       "forged; keep this longer than clients' keepalive interval, so that a live member's next "
       "datagram ends the streak first.")
      ("max-handshakes-per-ip", po::value<std::size_t>()->default_value(c.per_address.handshakes),
       "Handshakes in progress at once from one IP address.")
      ("handshake-rate", po::value<double>()->default_value(c.per_address.handshake_rate.per_second),
       "New handshakes per second from one IP address, on average (0: no limit); past it, "
       "rate_limited.")
      ("handshake-burst", po::value<double>()->default_value(c.per_address.handshake_rate.burst),
       "Handshakes from one IP address at once before --handshake-rate applies.")
      ("max-rooms-per-ip", po::value<std::size_t>()->default_value(c.per_address.rooms),
       "Rooms one IP address may host at once.")
      ("max-tokens-per-ip", po::value<std::size_t>()->default_value(c.per_address.tokens),
       "Memberships (tokens) one IP address may hold at once, across rooms.")
      ("password-failures", po::value<unsigned>()->default_value(c.per_address.password_failures),
       "Wrong passwords one IP address may try for one room within --password-window; then its "
       "joins to that room are refused (rate_limited) without hashing anything.")
      ("password-window", po::value<long>()->default_value(c.per_address.password_window.count()),
       "Seconds over which --password-failures counts.")
      ("room-password-failures", po::value<unsigned>()->default_value(c.per_address.room_password_failures),
       "Wrong passwords one room accepts from all addresses together within --room-password-window "
       "(0: no such limit); then every join to it with a password is refused (rate_limited) without "
       "hashing, so that guesses spread over many addresses stop too.")
      ("room-password-window", po::value<long>()->default_value(c.per_address.room_password_window.count()),
       "Seconds over which --room-password-failures counts.")
      ("ipv6-prefix", po::value<unsigned>()->default_value(c.per_address.ipv6_prefix),
       "Every per-address limit counts an IPv6 client by this prefix of its address (1-128; 64: a "
       "host or a LAN usually owns a whole /64). IPv4 clients are counted by their address.")
      ("request-skew", po::value<long>()->default_value(c.replays.skew.count()),
       "Seconds an encrypted request's time may be from this server's clock, either way; past it "
       "the request is refused (bad_request, \"your clock is off by ...\"). Keep the clock in sync.")
      ("replay-cache", po::value<std::size_t>()->default_value(c.replays.capacity),
       "Encrypted requests remembered to refuse replays (2 x --request-skew of handshakes). Past "
       "that many in that time, a request sealed no later than the oldest one remembered is "
       "refused (server_busy) rather than any replay taken.")
      ("lobby-max-members", po::value<std::size_t>()->default_value(c.lobby.max_members),
       "Addresses the lobby relays to at once.")
      ("chat-rate", po::value<double>()->default_value(c.room.chat.per_second),
       "Chat messages per second a member may send on average (0: no limit). Past it, messages are "
       "dropped and the sender is told (rate_limited), so that one member cannot flood a room.")
      ("chat-burst", po::value<double>()->default_value(c.room.chat.burst),
       "Chat messages a member may send at once before --chat-rate applies.")
      ("join-rate", po::value<double>()->default_value(c.room.joins.per_second),
       "Joins per second a room accepts on average (0: no limit), which bounds its join and leave "
       "notices; past it a join is answered with rate_limited.")
      ("join-burst", po::value<double>()->default_value(c.room.joins.burst),
       "Joins a room accepts at once before --join-rate applies.");

  po::options_description security("Encryption");
  security.add_options()
      ("key-file", po::value<std::string>(),
       "The server's X25519 key, created on first start (mode 0600). Default: "
       "$XDG_STATE_HOME/chat-server/server.key or ~/.local/state/chat-server/server.key. Its "
       "fingerprint is printed at start-up: give it to users to pin (chat-client --server-key).")
      ("next-key-file", po::value<std::string>(),
       "During a key rotation: the key to switch to (same format as --key-file, created if absent). "
       "The server keeps using --key-file and announces this key's public half inside every sealed "
       "completion, so clients that pinned the current key pin this one as its successor. Once "
       "clients have connected, restart with it as --key-file. See docs/operations.md.")
      ("key-datagrams", po::value<std::uint64_t>()->default_value(c.key_datagrams),
       "Datagrams each direction of an encrypted session seals under one key before both sides move "
       "to the next key (a power of two from 2048 to 67108864, told to clients in the sealed "
       "completion). Sessions never end for a spent key; lower it only to test key updates.")
      // A value, not a bare switch: in a --config file "allow-plaintext = false" must mean false
      // (a switch is set by the key's mere presence, whatever follows it).
      ("allow-plaintext", po::value<bool>()->default_value(false, "false")->implicit_value(true, "true"),
       "Also accept unencrypted handshakes and rooms (older clients, trusted networks only: anyone on "
       "the path can then read messages, passwords and tokens). Off by default.");

  po::options_description passwords("Passwords");
  passwords.add_options()
      ("password-cost", po::value<unsigned>()->default_value(c.password.log2_cost),
       "scrypt cost as log2(N) for room passwords (15: about 130 ms and 32 MiB per hash).")
      ("hash-workers", po::value<unsigned>()->default_value(c.hash_workers),
       "Threads that hash passwords, off the I/O pool.")
      ("hash-queue", po::value<std::size_t>()->default_value(c.hash_queue),
       "Password hashes waiting at most. The queue is fair: the hash whose address and room have spent "
       "least of their budgets (--hash-rate, --room-hash-rate) runs first, and when the queue is full "
       "the one that has spent most is answered with server_busy.")
      ("hash-rate", po::value<double>()->default_value(c.per_address.hash_rate.per_second),
       "Password hashes (password joins and creates) per second one IP address may start on average, "
       "right password or wrong (0: no limit); past it, rate_limited without hashing.")
      ("hash-burst", po::value<double>()->default_value(c.per_address.hash_rate.burst),
       "Password hashes one IP address may start at once before --hash-rate applies.")
      ("room-hash-rate", po::value<double>()->default_value(c.per_address.room_hash_rate.per_second),
       "Password hashes per second one room gets from all addresses together before its hashes wait "
       "behind other rooms' in the queue (0: no such order). Never a refusal.")
      ("room-hash-burst", po::value<double>()->default_value(c.per_address.room_hash_rate.burst),
       "Password hashes one room gets at once before --room-hash-rate applies.");

  po::options_description all;
  all.add(general).add(network).add(limits).add(security).add(passwords).add(cluster::cluster_options());

  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, all), vm);
    if (vm.count("config")) {
      const std::string path = vm["config"].as<std::string>();
      std::ifstream file(path);
      if (!file) {
        std::cerr << "chat-server: cannot read config file " << path << "\n";
        return {std::nullopt, 2};
      }
      po::store(po::parse_config_file(file, all), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "chat-server: " << e.what() << "\nTry 'chat-server --help'.\n";
    return {std::nullopt, 2};
  }

  if (vm.count("help")) {
    std::cout << usage_header << all << "\nExample:\n  chat-server --bind 127.0.0.1 --port 9000\n";
    return {std::nullopt, 0};
  }
  if (vm.count("version")) {
    std::cout << "chat-server " << LIBCHAT_VERSION << "\n";
    return {std::nullopt, 0};
  }

  const bool ok = in_range<unsigned>(vm, "port", 0, 65535) && in_range<unsigned>(vm, "threads", 1, 256) &&
                  in_range<std::size_t>(vm, "max-payload", 64, 1u << 20) &&
                  in_range<std::size_t>(vm, "max-handshakes", 1, 1'000'000) &&
                  in_range<std::size_t>(vm, "max-rooms", 1, 10'000'000) &&
                  in_range<std::size_t>(vm, "max-members", 2, 100'000) &&
                  in_range<double>(vm, "handshake-timeout", 0.05, 3600) &&
                  in_range<double>(vm, "inactivity-timeout", 0.05, 86400) &&
                  in_range<double>(vm, "token-ttl", 0.05, 86400) &&
                  in_range<unsigned>(vm, "unreachable-limit", 1, 255) &&
                  in_range<double>(vm, "unreachable-grace", 0, 86400) &&
                  in_range<std::size_t>(vm, "max-handshakes-per-ip", 1, 1'000'000) &&
                  in_range<double>(vm, "handshake-rate", 0, 1e6) && in_range<double>(vm, "handshake-burst", 0, 1e6) &&
                  in_range<std::size_t>(vm, "max-rooms-per-ip", 1, 10'000'000) &&
                  in_range<unsigned>(vm, "ipv6-prefix", 1, 128) &&
                  in_range<long>(vm, "request-skew", 1, 86400) &&
                  in_range<std::size_t>(vm, "replay-cache", 1, 16'777'216) &&
                  in_range<std::size_t>(vm, "max-tokens-per-ip", 1, 100'000'000) &&
                  in_range<double>(vm, "chat-rate", 0, 1e6) && in_range<double>(vm, "chat-burst", 0, 1e6) &&
                  in_range<double>(vm, "join-rate", 0, 1e6) && in_range<double>(vm, "join-burst", 0, 1e6) &&
                  in_range<unsigned>(vm, "password-cost", 1, 24) &&
                  in_range<double>(vm, "hash-rate", 0, 1e6) && in_range<double>(vm, "hash-burst", 0, 1e6) &&
                  in_range<double>(vm, "room-hash-rate", 0, 1e6) && in_range<double>(vm, "room-hash-burst", 0, 1e6) &&
                  in_range<unsigned>(vm, "hash-workers", 1, 64) && in_range<long>(vm, "stats-interval", 0, 86400) &&
                  (!vm.count("udp-port") || in_range<unsigned>(vm, "udp-port", 0, 65535)) &&
                  (!vm.count("receive-sockets") || in_range<unsigned>(vm, "receive-sockets", 1, 64)) &&
                  (!vm.count("lobby-port") || in_range<unsigned>(vm, "lobby-port", 0, 65535));
  if (!ok) return {std::nullopt, 2};
  if (!libchat::valid_key_datagrams(vm["key-datagrams"].as<std::uint64_t>())) {
    std::cerr << "chat-server: --key-datagrams must be a power of two from " << libchat::min_key_datagrams << " to "
              << libchat::default_key_datagrams << " (got " << vm["key-datagrams"].as<std::uint64_t>() << ")\n";
    return {std::nullopt, 2};
  }
  const std::string level = vm["log-level"].as<std::string>();
  if (level != "trace" && level != "debug" && level != "info" && level != "warn" && level != "error" &&
      level != "critical" && level != "off") {
    std::cerr << "chat-server: --log-level must be one of trace, debug, info, warn, error, critical, off\n";
    return {std::nullopt, 2};
  }

  if (!cluster::read_cluster_options(vm, c.cluster)) return {std::nullopt, 2};

  const auto seconds = [&](const char* name) {
    return std::chrono::milliseconds(static_cast<long long>(vm[name].as<double>() * 1000.0));
  };
  c.bind_address = vm["bind"].as<std::string>();
  c.tcp_port = static_cast<std::uint16_t>(vm["port"].as<unsigned>());
  c.udp_port = vm.count("udp-port") ? static_cast<std::uint16_t>(vm["udp-port"].as<unsigned>()) : c.tcp_port;
  if (vm.count("lobby-port")) c.lobby_port = static_cast<std::uint16_t>(vm["lobby-port"].as<unsigned>());
  if (vm.count("metrics-listen")) {
    listen_address metrics;
    if (!parse_listen_address(vm["metrics-listen"].as<std::string>(), metrics)) {
      std::cerr << "chat-server: --metrics-listen must be HOST:PORT, such as 127.0.0.1:9188 or [::1]:9188 (got "
                << vm["metrics-listen"].as<std::string>() << ")\n";
      return {std::nullopt, 2};
    }
    c.metrics_listen = metrics;
  }
  c.threads = vm["threads"].as<unsigned>();
  c.receive_sockets = vm.count("receive-sockets") ? vm["receive-sockets"].as<unsigned>() : c.threads;
  c.socket_buffer = vm["socket-buffer"].as<std::size_t>();
  c.max_payload = vm["max-payload"].as<std::size_t>();
  c.handshake_timeout = seconds("handshake-timeout");
  c.max_handshakes = vm["max-handshakes"].as<std::size_t>();
  c.max_rooms = vm["max-rooms"].as<std::size_t>();
  c.room.max_members = vm["max-members"].as<std::size_t>();
  c.room.inactivity_timeout = seconds("inactivity-timeout");
  c.room.token_ttl = seconds("token-ttl");
  c.room.unreachable_limit = vm["unreachable-limit"].as<unsigned>();
  c.room.unreachable_grace = seconds("unreachable-grace");
  c.lobby.max_members = vm["lobby-max-members"].as<std::size_t>();
  c.per_address.handshakes = vm["max-handshakes-per-ip"].as<std::size_t>();
  c.per_address.handshake_rate = {vm["handshake-rate"].as<double>(), std::max(1.0, vm["handshake-burst"].as<double>())};
  c.per_address.rooms = vm["max-rooms-per-ip"].as<std::size_t>();
  c.per_address.tokens = vm["max-tokens-per-ip"].as<std::size_t>();
  c.per_address.password_failures = std::max(1u, vm["password-failures"].as<unsigned>());
  c.per_address.password_window = std::chrono::seconds(std::max(1L, vm["password-window"].as<long>()));
  c.per_address.room_password_failures = vm["room-password-failures"].as<unsigned>();
  c.per_address.room_password_window =
      std::chrono::seconds(std::max(1L, vm["room-password-window"].as<long>()));
  c.per_address.ipv6_prefix = vm["ipv6-prefix"].as<unsigned>();
  c.replays.skew = std::chrono::seconds(vm["request-skew"].as<long>());
  c.replays.capacity = vm["replay-cache"].as<std::size_t>();
  c.room.chat = {vm["chat-rate"].as<double>(), std::max(1.0, vm["chat-burst"].as<double>())};
  c.room.joins = {vm["join-rate"].as<double>(), std::max(1.0, vm["join-burst"].as<double>())};
  c.lobby.inactivity_timeout = c.room.inactivity_timeout;
  c.password.log2_cost = static_cast<std::uint8_t>(vm["password-cost"].as<unsigned>());
  c.hash_workers = vm["hash-workers"].as<unsigned>();
  c.hash_queue = vm["hash-queue"].as<std::size_t>();
  c.per_address.hash_rate = {vm["hash-rate"].as<double>(), std::max(1.0, vm["hash-burst"].as<double>())};
  c.per_address.room_hash_rate = {vm["room-hash-rate"].as<double>(), std::max(1.0, vm["room-hash-burst"].as<double>())};
  c.stats_interval = std::chrono::seconds(vm["stats-interval"].as<long>());
  c.log_level = vm["log-level"].as<std::string>();
  c.key_file = vm.count("key-file") ? vm["key-file"].as<std::string>() : default_key_file();
  if (vm.count("next-key-file")) c.next_key_file = vm["next-key-file"].as<std::string>();
  c.allow_plaintext = vm["allow-plaintext"].as<bool>();
  c.key_datagrams = vm["key-datagrams"].as<std::uint64_t>();
  return {c, 0};
}

}  // namespace chat_server
