#include "targets.hpp"

#include "clock.hpp"
#include "proc_stats.hpp"
#include "../malloc_count/malloc_count.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace chat_bench {
namespace {

constexpr auto startup_timeout = std::chrono::seconds(15);

// "... listening tcp=127.0.0.1:9000 udp=127.0.0.1:9000 ..." → the value after "key=".
std::optional<std::string> field_of(const std::string& line, std::string_view key) {
  const std::string needle = " " + std::string(key) + "=";
  const auto at = line.find(needle);
  if (at == std::string::npos) return std::nullopt;
  const auto start = at + needle.size();
  const auto end = line.find(' ', start);
  return line.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

bool can_connect(const endpoint& e) {
  const int fd = ::socket(e.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool ok = ::connect(fd, e.get(), e.length) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

std::string_view kind_name(target_kind k) noexcept {
  switch (k) {
    case target_kind::chat_server:
      return "chat-server";
    case target_kind::chat_server_enc:
      return "chat-server-enc";
    case target_kind::baseline: return "baseline";
    case target_kind::baseline_enc: return "baseline-enc";
    case target_kind::limit_relay:
      return "limit-relay";
    case target_kind::mqtt:
      return "mosquitto";
  }
  return "?";
}

target::target(target_settings settings) : settings_(std::move(settings)), name_(kind_name(settings_.kind)) {}

target::~target() {
  try {
    depopulate();
  } catch (...) {
    // Best effort while unwinding: the sockets close with the population anyway.
  }
  stop();
  if (alloc_page_) ::munmap(const_cast<void*>(alloc_page_), static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)));
  if (!alloc_file_.empty()) std::filesystem::remove(alloc_file_);
  if (!temp_dir_.empty()) std::filesystem::remove_all(temp_dir_);
}

void target::start(const shape& largest) {
  if (settings_.connect) {
    if (!settings_.pid) throw std::runtime_error("--connect needs --server-pid to measure the server");
    address_ = *settings_.connect;
    pid_ = *settings_.pid;
    if (settings_.kind == target_kind::limit_relay) udp_port_ = address_.port();
    description_ = "attached to " + address_.to_string() + " pid " + std::to_string(pid_);
    if (!alive()) throw std::runtime_error("no process with pid " + std::to_string(pid_));
    // Trust on first use: the key the server gives now is the one used for the whole run.
    if (is_encrypted(settings_.kind)) fetch_key(std::nullopt);
  } else {
    switch (settings_.kind) {
      case target_kind::chat_server:
      case target_kind::chat_server_enc:
      case target_kind::baseline:
      case target_kind::baseline_enc: start_chat_server(largest); break;
      case target_kind::limit_relay:
        start_limit_relay();
        break;
      case target_kind::mqtt:
        start_mosquitto();
        break;
    }
  }
  if (const auto sample = sample_process(pid_)) base_rss_kib_ = sample->rss_kib;
}

void target::fetch_key(const std::optional<std::string>& printed_fingerprint) {
  server_key_ = fetch_server_key(address_, std::chrono::seconds(5));
  const std::string fingerprint = libchat::key_fingerprint(*server_key_);
  // The key a started server printed is the pin: operation 3 must give the same one.
  if (printed_fingerprint && *printed_fingerprint != fingerprint) {
    throw std::runtime_error("the server printed key " + *printed_fingerprint + " but operation 3 gave " + fingerprint);
  }
  description_ += " key " + fingerprint;
}

void target::spawn(std::vector<std::string> argv) {
  for (const auto& a : settings_.extra_args) argv.push_back(a);
  std::vector<std::string> env;
  if (settings_.alloc_counter_library) {
    alloc_file_ = "/tmp/chat-bench-" + std::to_string(::getpid()) + "-" + name_ + ".allocs";
    std::filesystem::remove(alloc_file_);
    env.push_back("LD_PRELOAD=" + *settings_.alloc_counter_library);
    env.push_back(std::string(malloc_count::file_variable) + "=" + alloc_file_);
  }
  process_ = std::make_unique<child_process>(argv, env, settings_.log_path);
  pid_ = process_->pid();
}

void target::start_chat_server(const shape& largest) {
  std::vector<std::string> argv{settings_.program, "--bind", "127.0.0.1", "--port", "0",
                                "--max-rooms", std::to_string(std::max<std::uint64_t>(10'000, largest.rooms + 16)),
                                "--max-members", std::to_string(std::max<std::uint32_t>(1000, largest.members))};
  if (settings_.server_threads) {
    argv.push_back("--threads");
    argv.push_back(std::to_string(*settings_.server_threads));
  }
  // A chat-server with encrypted sessions refuses plaintext clients unless told otherwise, and
  // keeps its key in the user's home unless given a file. The plaintext target passes
  // --allow-plaintext; chat-server-enc runs as configured by default (encrypted only). Both keep
  // their key in a temporary directory. Older servers have neither flag (and no encryption).
  const bool encrypted = is_encrypted(settings_.kind);
  const std::string help = child_process::capture({settings_.program, "--help"}, std::chrono::seconds(5));
  const bool has_plaintext_flag = help.find("--allow-plaintext") != std::string::npos;
  if (encrypted && !has_plaintext_flag) {
    throw std::runtime_error(settings_.program + " has no encrypted sessions (no --allow-plaintext in its --help)");
  }
  if (!encrypted && has_plaintext_flag) argv.push_back("--allow-plaintext");
  // A benchmark measures the relay, not the abuse limits: all its members talk from loopback,
  // join in thousands and, with --max, send far faster than a person. Lift every limit the
  // server has (older servers have none of these flags).
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"--chat-rate", "0"}, {"--join-rate", "0"}, {"--handshake-rate", "0"},
           {"--max-handshakes-per-ip", "1000000"}, {"--max-rooms-per-ip", "10000000"},
           {"--max-tokens-per-ip", "100000000"}}) {
    if (help.find(flag) != std::string::npos) argv.insert(argv.end(), {flag, value});
  }
  if (help.find("--key-file") != std::string::npos) {
    make_temp_dir();
    argv.push_back("--key-file");
    argv.push_back(temp_dir_ + "/server.key");
  }
  spawn(argv);
  const auto line = process_->wait_for_line("listening", startup_timeout);
  if (!line) throw std::runtime_error("chat-server did not start:\n" + process_->tail());
  const auto tcp = field_of(*line, "tcp");
  const auto udp = field_of(*line, "udp");
  if (!tcp || !udp) throw std::runtime_error("cannot read the start-up line: " + *line);
  address_ = parse_endpoint(*tcp);
  udp_port_ = parse_endpoint(*udp).port();
  description_ = line->substr(line->find("listening"));
  if (encrypted) {
    // "server key SHA256:… (path); …", printed right after the listening line.
    std::optional<std::string> printed;
    if (const auto key_line = process_->wait_for_line("server key", std::chrono::seconds(5))) {
      const auto at = key_line->find("server key ") + 11;
      printed = key_line->substr(at, key_line->find(' ', at) - at);
    }
    process_->start_draining();
    fetch_key(printed);
  } else {
    process_->start_draining();
  }
  map_alloc_counter();
}

void target::start_limit_relay() {
  spawn({settings_.program, "--bind", "127.0.0.1", "--port", "0"});
  const auto line = process_->wait_for_line("listening", startup_timeout);
  if (!line) throw std::runtime_error("limit-relay did not start:\n" + process_->tail());
  const auto udp = field_of(*line, "udp");
  if (!udp) throw std::runtime_error("cannot read the start-up line: " + *line);
  address_ = parse_endpoint(*udp);
  udp_port_ = address_.port();
  description_ = line->substr(line->find("listening"));
  process_->start_draining();
  map_alloc_counter();
}

void target::make_temp_dir() {
  if (!temp_dir_.empty()) return;
  char dir[] = "/tmp/chat-bench-XXXXXX";
  if (!::mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
  temp_dir_ = dir;
}

void target::start_mosquitto() {
  make_temp_dir();
  // Mosquitto drops root privileges to its own user after reading the configuration.
  std::filesystem::permissions(temp_dir_, std::filesystem::perms::owner_all | std::filesystem::perms::others_read |
                                              std::filesystem::perms::others_exec |
                                              std::filesystem::perms::group_read | std::filesystem::perms::group_exec);
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::uint16_t port = free_tcp_port();
    const std::string config = temp_dir_ + "/mosquitto.conf";
    {
      std::ofstream out(config);
      out << "# written by chat-bench\n"
          << "listener " << port << " 127.0.0.1\n"
          << "allow_anonymous true\n"
          << "persistence false\n"
          << "max_queued_messages 1000000\n"
          << "set_tcp_nodelay true\n"
          << "sys_interval 0\n"
          << "log_dest stderr\n"
          << "log_type error\n"
          << "log_type warning\n";
    }
    spawn({settings_.program, "-c", config});
    address_ = make_endpoint("127.0.0.1", port);
    const auto until = std::chrono::steady_clock::now() + startup_timeout;
    while (std::chrono::steady_clock::now() < until && process_->running() && !can_connect(address_)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (process_->running() && can_connect(address_)) {
      description_ = "mosquitto listening on " + address_.to_string();
      process_->start_draining();
      map_alloc_counter();
      return;
    }
    process_->stop(std::chrono::seconds(1));
    process_->start_draining();
  }
  throw std::runtime_error("mosquitto did not start:\n" + (process_ ? process_->tail() : std::string()));
}

void target::map_alloc_counter() {
  if (alloc_file_.empty()) return;
  const int fd = ::open(alloc_file_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("the allocation counter did not start (is " +
                                       settings_.alloc_counter_library.value_or("") + " loadable?)");
  void* page = ::mmap(nullptr, static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)), PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (page != MAP_FAILED) alloc_page_ = page;
}

std::optional<alloc_counts> target::allocations() const {
  if (!alloc_page_) return std::nullopt;
  const auto* c = static_cast<const malloc_count::counters*>(alloc_page_);
  if (c->magic.load(std::memory_order_acquire) != malloc_count::file_magic) return std::nullopt;
  return alloc_counts{c->allocations.load(std::memory_order_relaxed), c->frees.load(std::memory_order_relaxed),
                      c->bytes.load(std::memory_order_relaxed)};
}

std::uint64_t target::descriptors_for(const shape& layout) const noexcept {
  // libmosquitto keeps a socket pair per client besides its connection.
  return layout.total() * (settings_.kind == target_kind::mqtt ? 3 : 1);
}

void target::populate(const shape& layout) {
  depopulate();
  ++generation_;
  population_options options = settings_.population;
  options.name_prefix += "g" + std::to_string(generation_) + "-";
  options.label = name_ + " " + layout.to_string();
  const std::size_t count = std::max<std::size_t>(1, std::min<std::size_t>(settings_.workers, layout.total()));
  if (settings_.kind == target_kind::mqtt) {
    mqtt_ = std::make_unique<mqtt_population>(layout, options);
    mqtt_->connect_and_subscribe(address_);
    std::vector<std::vector<mqtt_member*>> shares(count);
    for (auto& m : mqtt_->members()) shares[m.id % count].push_back(&m);
    for (std::size_t w = 0; w < count; ++w) workers_.push_back(std::make_unique<mqtt_worker>(w, count, shares[w]));
  } else {
    options.encrypted = is_encrypted(settings_.kind);
    udp_ = std::make_unique<udp_population>(layout, options);
    if (is_chat_server(settings_.kind)) {
      udp_->handshake_and_bind(address_, server_key_ ? &*server_key_ : nullptr);
    } else {
      udp_->bind_direct(address_);
    }
    std::vector<std::vector<udp_member*>> shares(count);
    for (auto& m : udp_->members()) shares[m.id % count].push_back(&m);
    for (std::size_t w = 0; w < count; ++w) {
      workers_.push_back(std::make_unique<udp_worker>(w, count, settings_.keepalive_ns, shares[w], options.text_bytes));
    }
  }
  for (auto& w : workers_) w->start();
  shape_ = layout;
  populated_ = true;
}

void target::depopulate() {
  workers_.clear();  // each stops and joins its thread
  if (udp_) udp_->leave_all();
  udp_.reset();
  mqtt_.reset();
  populated_ = false;
}

std::vector<load_worker*> target::workers() const {
  std::vector<load_worker*> out;
  for (const auto& w : workers_) out.push_back(w.get());
  return out;
}

bool target::alive() {
  if (process_) return process_->running();
  return pid_ > 0 && ::kill(pid_, 0) == 0;
}

std::string target::diagnostics() const { return process_ ? process_->tail() : std::string(); }

void target::stop() {
  if (process_) process_->stop(std::chrono::seconds(5));
}

}  // namespace chat_bench
