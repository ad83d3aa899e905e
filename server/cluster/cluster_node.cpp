#include "cluster_node.hpp"

#include "directory_record.hpp"

#include <boost/asio/post.hpp>

#include <nats/nats.h>

#include <charconv>
#include <random>
#include <stdexcept>
#include <utility>

namespace chat_server::cluster {
namespace asio = boost::asio;

namespace {
constexpr const char* bucket_prefix = "libchat-rooms-";
// How long a forwarded request may wait for the home node to take it (it answers at once).
constexpr std::int64_t forward_ack_ms = 2000;
constexpr std::int64_t directory_wait_ms = 2000;

std::string status_text(natsStatus s) {
  return natsStatus_GetText(s);
}

// The connection errors that waiting will not mend: libnats drops such a server from its pool.
bool refused_for_good(natsStatus s) {
  return s == NATS_SSL_ERROR || s == NATS_CONNECTION_AUTH_FAILED || s == NATS_SECURE_CONNECTION_REQUIRED ||
         s == NATS_SECURE_CONNECTION_WANTED || s == NATS_NOT_PERMITTED;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string hex64(std::uint64_t v) {
  char out[17] = {};
  std::to_chars(out, out + 16, v, 16);
  return out;
}

// Owns one natsMsg (libnats hands them over to callbacks, which must destroy them).
struct msg_ptr {
  natsMsg* m = nullptr;
  ~msg_ptr() {
    if (m) natsMsg_Destroy(m);
  }
};

std::string header(natsMsg* m, const char* key) {
  const char* value = nullptr;
  if (natsMsgHeader_Get(m, key, &value) != NATS_OK || !value) return {};
  return value;
}
}  // namespace

struct cluster_node::nats_handles {
  natsOptions* options = nullptr;
  natsConnection* connection = nullptr;
  jsCtx* js = nullptr;
  std::vector<kvStore*> buckets;  // set once by open_buckets, before ready_
  std::vector<std::string> bucket_names;
  natsSubscription* heartbeats = nullptr;
  natsSubscription* handshakes = nullptr;
  natsSubscription* replies = nullptr;

  kvStore* bucket_for(const std::string& key) const {
    return buckets[bucket_of(key, static_cast<unsigned>(buckets.size()))];
  }
  const std::string& bucket_name_for(const std::string& key) const {
    return bucket_names[bucket_of(key, static_cast<unsigned>(bucket_names.size()))];
  }
};

struct nats_callbacks {
  static void connected(natsConnection*, void* self) {
    static_cast<cluster_node*>(self)->became_connected("connected");
  }
  static void reconnected(natsConnection*, void* self) {
    static_cast<cluster_node*>(self)->became_connected("reconnected");
  }
  static void disconnected(natsConnection*, void* self) { static_cast<cluster_node*>(self)->became_disconnected(); }
  static void closed(natsConnection* nc, void* self) {
    const char* text = nullptr;
    const natsStatus last = natsConnection_GetLastError(nc, &text);
    static_cast<cluster_node*>(self)->became_closed(text && *text ? text : status_text(last));
  }

  static void heartbeat(natsConnection*, natsSubscription*, natsMsg* m, void* self) {
    msg_ptr owned{m};
    // "<node> <incarnation hex>"
    const std::string_view text(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
    const auto space = text.find(' ');
    if (space == std::string_view::npos) return;
    std::uint64_t incarnation = 0;
    const auto tail = text.substr(space + 1);
    if (std::from_chars(tail.data(), tail.data() + tail.size(), incarnation, 16).ec != std::errc{}) return;
    static_cast<cluster_node*>(self)->liveness_.heard(text.substr(0, space), incarnation, liveness::clock::now());
  }

  static void handshake(natsConnection* nc, natsSubscription*, natsMsg* m, void* raw) {
    msg_ptr owned{m};
    auto* self = static_cast<cluster_node*>(raw);
    const auto client = libchat::ip_address::parse(header(m, "Client-IP"));
    const std::string reply_to = header(m, "Reply-To");
    const char* ack = natsMsg_GetReply(m);
    if (!client || reply_to.empty() || !ack || self->stopping_.load()) return;  // the front times out
    natsConnection_PublishString(nc, ack, "ok");
    const auto* data = reinterpret_cast<const std::uint8_t*>(natsMsg_GetData(m));
    std::vector<std::uint8_t> request(data, data + natsMsg_GetDataLength(m));
    auto reply = [nc, reply_to](libchat::byte_view bytes, bool last) {
      natsMsg* out = nullptr;
      if (natsMsg_Create(&out, reply_to.c_str(), nullptr, reinterpret_cast<const char*>(bytes.data()),
                         static_cast<int>(bytes.size())) != NATS_OK)
        return;
      msg_ptr frame{out};
      if (last) natsMsgHeader_Set(out, "Last", "1");
      natsConnection_PublishMsg(nc, out);
    };
    self->on_forwarded_(std::move(request), *client, std::move(reply));
  }

  static void reply(natsConnection*, natsSubscription*, natsMsg* m, void* self) {
    msg_ptr owned{m};
    const std::string_view subject = natsMsg_GetSubject(m);
    const std::string id(subject.substr(subject.rfind('.') + 1));
    const auto* data = reinterpret_cast<const std::uint8_t*>(natsMsg_GetData(m));
    std::vector<std::uint8_t> bytes(data, data + natsMsg_GetDataLength(m));
    static_cast<cluster_node*>(self)->dispatch_reply(id, std::move(bytes), !header(m, "Last").empty());
  }
};

cluster_node::cluster_node(settings s, spdlog::logger& log)
    : settings_(std::move(s)),
      log_(log),
      incarnation_(std::random_device{}() * 0x100000000ull + std::random_device{}()),
      liveness_(settings_.node, incarnation_, settings_.node_timeout),
      nats_(std::make_unique<nats_handles>()) {
  auto& n = *nats_;
  const auto check = [](natsStatus status, const std::string& what) {
    if (status != NATS_OK) throw std::runtime_error(what + ": " + status_text(status));
  };
  check(natsOptions_Create(&n.options), "cannot set up the NATS client");
  std::vector<const char*> urls;
  for (const auto& u : settings_.urls) urls.push_back(u.c_str());
  check(natsOptions_SetServers(n.options, urls.data(), static_cast<int>(urls.size())), "--cluster");
  const std::string name = "chat-server " + settings_.node;
  natsOptions_SetName(n.options, name.c_str());
  natsOptions_SetTimeout(n.options, 2000);
  // Every publish here is one step of a handshake someone waits for (an ack, a reply frame, a
  // heartbeat), never a stream: send it at once rather than leave it to libnats' flusher thread.
  natsOptions_SetSendAsap(n.options, true);
  natsOptions_SetMaxReconnect(n.options, -1);  // forever: the node keeps serving its rooms meanwhile
  natsOptions_SetReconnectWait(n.options, 250);
  // A NATS server that died without closing the socket is noticed in about 2 s.
  natsOptions_SetPingInterval(n.options, 1000);
  natsOptions_SetMaxPingsOut(n.options, 2);
  natsOptions_SetDisconnectedCB(n.options, nats_callbacks::disconnected, this);
  natsOptions_SetReconnectedCB(n.options, nats_callbacks::reconnected, this);
  natsOptions_SetClosedCB(n.options, nats_callbacks::closed, this);
  if (!settings_.creds_file.empty())
    check(natsOptions_SetUserCredentialsFromFiles(n.options, settings_.creds_file.c_str(), nullptr),
          "--cluster-creds " + settings_.creds_file);
  if (!settings_.tls_ca.empty()) {
    check(natsOptions_SetSecure(n.options, true), "--cluster-tls-ca");
    check(natsOptions_LoadCATrustedCertificates(n.options, settings_.tls_ca.c_str()),
          "--cluster-tls-ca " + settings_.tls_ca);
  }
  for (unsigned i = 0; i < settings_.buckets; ++i) n.bucket_names.push_back(bucket_prefix + std::to_string(i));
}

cluster_node::~cluster_node() {
  stop();
  auto& n = *nats_;
  for (auto* kv : n.buckets) kvStore_Destroy(kv);
  if (n.js) jsCtx_Destroy(n.js);
  if (n.connection) natsConnection_Destroy(n.connection);
  if (n.options) natsOptions_Destroy(n.options);
}

void cluster_node::start(forwarded_handler on_forwarded, std::function<void()> on_directory_back) {
  on_forwarded_ = std::move(on_forwarded);
  on_directory_back_ = std::move(on_directory_back);
  auto& n = *nats_;
  // One attempt first, to tell a refusal (a TLS or credentials mistake: libnats would give up on
  // it for good in the background, leaving a node that answers server_busy for ever) from a NATS
  // that is not up yet (retried in the background while the node starts).
  natsStatus s = natsConnection_Connect(&n.connection, n.options);
  if (s != NATS_OK) {
    if (refused_for_good(s)) {
      const char* detail = nats_GetLastError(nullptr);
      throw std::runtime_error("NATS refused this node (--cluster " + redacted_url(settings_.urls.front()) +
                               "): " + status_text(s) + (detail && *detail ? std::string(" (") + detail + ")" : ""));
    }
    if (natsOptions_SetRetryOnFailedConnect(n.options, true, nats_callbacks::connected, this) != NATS_OK)
      throw std::runtime_error("cannot set up the NATS client's retries");
    s = natsConnection_Connect(&n.connection, n.options);
    if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED)
      throw std::runtime_error("cannot connect to NATS (--cluster): " + status_text(s));
  }
  if (natsConnection_JetStream(&n.js, n.connection, nullptr) != NATS_OK)
    throw std::runtime_error("cannot use JetStream on the NATS connection");
  const auto subscribe = [&](natsSubscription** sub, const std::string& subj, natsMsgHandler cb) {
    const natsStatus st = natsConnection_Subscribe(sub, n.connection, subj.c_str(), cb, this);
    if (st != NATS_OK) throw std::runtime_error("cannot subscribe to " + subj + ": " + status_text(st));
  };
  subscribe(&n.heartbeats, subject("heartbeat"), nats_callbacks::heartbeat);
  subscribe(&n.handshakes, subject("node." + settings_.node + ".handshake"), nats_callbacks::handshake);
  subscribe(&n.replies, subject("node." + settings_.node + ".reply.*"), nats_callbacks::reply);
  if (s == NATS_OK)
    became_connected("connected");
  else
    log_.warn("cluster: NATS is not reachable yet at {}; answering server_busy until it is",
              redacted_url(settings_.urls.front()));
  heartbeat_thread_ = std::thread([this] { heartbeats(); });
}

void cluster_node::stop() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard lock(heartbeat_mutex_);
    heartbeat_wake_.notify_all();
  }
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
  auto& n = *nats_;
  for (auto* sub : {n.heartbeats, n.handshakes, n.replies})
    if (sub) natsSubscription_Unsubscribe(sub);
  workers_.join();  // the releases of rooms that closed on the way down
  for (auto** sub : {&n.heartbeats, &n.handshakes, &n.replies}) {
    if (*sub) natsSubscription_Destroy(*sub);
    *sub = nullptr;
  }
  ready_.store(false);
  if (n.connection) {
    natsConnection_FlushTimeout(n.connection, 500);
    natsConnection_Close(n.connection);
    std::unique_lock lock(closed_mutex_);
    closed_wake_.wait_for(lock, std::chrono::seconds(2), [this] { return closed_; });
  }
}

std::string cluster_node::subject(const std::string& tail) const {
  return "libchat." + tail;
}

void cluster_node::became_connected(const char* how) {
  liveness_.listening_since(liveness::clock::now());
  if (ready_.load()) return;
  log_.info("cluster: {} to NATS as node '{}'", how, settings_.node);
  asio::post(workers_, [this] { open_buckets(); });
}

void cluster_node::became_disconnected() {
  if (!ready_.exchange(false)) return;
  log_.warn(
      "cluster: lost the NATS connection; local rooms keep relaying, new handshakes get server_busy "
      "until it is back");
}

void cluster_node::became_closed(const std::string& why) {
  ready_.store(false);
  // libnats closes for good only on a refusal (TLS, credentials) it met while reconnecting: no
  // retry of its own will mend it, so say so loudly rather than answer server_busy in silence.
  if (!stopping_.load())
    log_.error(
        "cluster: the NATS client gave up on NATS ({}); local rooms keep relaying, new handshakes get "
        "server_busy until this node is restarted",
        why);
  std::lock_guard lock(closed_mutex_);
  closed_ = true;
  closed_wake_.notify_all();  // under the lock: stop() may destroy us as soon as it has it
}

void cluster_node::open_buckets() {
  auto& n = *nats_;
  while (!stopping_.load()) {
    if (n.buckets.empty()) {
      std::vector<kvStore*> opened;
      natsStatus failed = NATS_OK;
      for (const auto& name : n.bucket_names) {
        kvStore* kv = nullptr;
        if (js_KeyValue(&kv, n.js, name.c_str()) != NATS_OK) {
          kvConfig cfg;
          kvConfig_Init(&cfg);
          cfg.Bucket = name.c_str();
          cfg.History = 1;
          cfg.Replicas = settings_.replicas;
          cfg.StorageType = js_FileStorage;
          failed = js_CreateKeyValue(&kv, n.js, &cfg);
          if (failed != NATS_OK) break;
        }
        opened.push_back(kv);
      }
      if (failed == NATS_OK) {
        n.buckets = std::move(opened);
      } else {
        for (auto* kv : opened) kvStore_Destroy(kv);
        log_.warn("cluster: cannot open the room directory ({}); retrying", status_text(failed));
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        if (natsConnection_Status(n.connection) != NATS_CONN_STATUS_CONNECTED) return;  // reconnect retries
        continue;
      }
    }
    if (natsConnection_Status(n.connection) != NATS_CONN_STATUS_CONNECTED) return;
    ready_.store(true, std::memory_order_release);
    log_.info("cluster: room directory ready ({} buckets); node '{}' takes handshakes, datagrams at {}",
              n.buckets.size(), settings_.node, settings_.advertise);
    if (std::exchange(was_ready_, true) && on_directory_back_) on_directory_back_();
    return;
  }
}

void cluster_node::heartbeats() {
  const auto every = std::max(std::chrono::milliseconds(100), settings_.node_timeout / 5);
  const std::string beat = settings_.node + " " + hex64(incarnation_);
  std::unique_lock lock(heartbeat_mutex_);
  while (!stopping_.load()) {
    if (nats_->connection && natsConnection_Status(nats_->connection) == NATS_CONN_STATUS_CONNECTED)
      natsConnection_PublishString(nats_->connection, subject("heartbeat").c_str(), beat.c_str());
    heartbeat_wake_.wait_for(lock, every, [this] { return stopping_.load(); });
  }
}

cluster_node::entry cluster_node::read_entry(const std::string& key) {
  kvEntry* kv_entry = nullptr;
  entry e;
  const natsStatus s = kvStore_Get(&kv_entry, nats_->bucket_for(key), key.c_str());
  e.status = s;
  if (s != NATS_OK) return e;
  e.revision = kvEntry_Revision(kv_entry);
  e.record = decode_record(
      std::string_view(kvEntry_ValueString(kv_entry), static_cast<std::size_t>(kvEntry_ValueLen(kv_entry))));
  kvEntry_Destroy(kv_entry);
  return e;
}

std::uint64_t cluster_node::create_entry(const std::string& key, const std::string& room) {
  const std::string value = encode_record({room, settings_.node, incarnation_, unix_now()});
  std::uint64_t revision = 0;
  if (kvStore_Create(&revision, nats_->bucket_for(key), key.c_str(), value.data(), static_cast<int>(value.size())) !=
      NATS_OK)
    return 0;
  return revision;
}

directory_answer cluster_node::lookup(const std::string& room) {
  const std::string key = directory_key(room);
  for (int attempt = 0; attempt < 2; ++attempt) {
    const entry e = read_entry(key);
    if (e.status == NATS_NOT_FOUND) return {directory_answer::kind::absent, {}};
    // A failure, or a value not ours to judge (another version's): leave it alone.
    if (e.status != NATS_OK || !e.record) return {directory_answer::kind::unavailable, {}};
    if (e.ours(*this)) return {directory_answer::kind::here, e.record->node};
    if (liveness_.alive(e.record->node, e.record->incarnation, liveness::clock::now()))
      return {directory_answer::kind::elsewhere, e.record->node};
    // Its home is dead (or restarted): free the name, unless someone else just took it.
    if (delete_if(key, e.revision)) {
      log_.info("cluster: room '{}' of node '{}', which is gone, removed from the directory", room, e.record->node);
      return {directory_answer::kind::absent, {}};
    }
  }
  return {directory_answer::kind::unavailable, {}};
}

bool cluster_node::delete_if(const std::string& key, std::uint64_t revision) {
  auto& n = *nats_;
  natsMsg* m = nullptr;
  const std::string subj = "$KV." + n.bucket_name_for(key) + "." + key;
  if (natsMsg_Create(&m, subj.c_str(), nullptr, nullptr, 0) != NATS_OK) return false;
  msg_ptr owned{m};
  natsMsgHeader_Set(m, "KV-Operation", "DEL");
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.ExpectLastSubjectSeq = revision;
  options.MaxWait = directory_wait_ms;
  jsPubAck* ack = nullptr;
  const natsStatus s = js_PublishMsg(&ack, n.js, m, &options, nullptr);
  if (ack) jsPubAck_Destroy(ack);
  return s == NATS_OK;
}

void cluster_node::find(std::string room, std::function<void(directory_answer)> done) {
  asio::post(workers_, [this, room = std::move(room), done = std::move(done)] {
    if (!ready()) return done({directory_answer::kind::unavailable, {}});
    done(lookup(room));
  });
}

void cluster_node::claim(std::string room, std::function<void(claim_answer)> done) {
  asio::post(workers_, [this, room = std::move(room), done = std::move(done)] {
    if (!ready()) return done({claim_answer::kind::unavailable, 0});
    const std::string key = directory_key(room);
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (const std::uint64_t revision = create_entry(key, room)) return done({claim_answer::kind::claimed, revision});
      // Taken, or NATS failed: the lookup tells which (and frees a dead node's entry).
      switch (lookup(room).what) {
        case directory_answer::kind::absent: continue;
        case directory_answer::kind::here:
        case directory_answer::kind::elsewhere: return done({claim_answer::kind::exists, 0});
        case directory_answer::kind::unavailable: return done({claim_answer::kind::unavailable, 0});
      }
    }
    done({claim_answer::kind::unavailable, 0});
  });
}

void cluster_node::release(std::string room, std::uint64_t revision) {
  if (revision == 0) return;
  asio::post(workers_, [this, room = std::move(room), revision] {
    // Without NATS it would only wait out its timeout (at shutdown, once per room): the entry is
    // then freed when the others find this node dead.
    if (!ready() || !delete_if(directory_key(room), revision))
      log_.debug("cluster: room '{}' was not removed from the directory (NATS down, or already gone)", room);
  });
}

void cluster_node::reclaim(std::string room, std::function<void(bool, std::uint64_t)> done) {
  asio::post(workers_, [this, room = std::move(room), done = std::move(done)] {
    if (!ready()) return done(true, 0);
    const std::string key = directory_key(room);
    // A NATS server that just came back may need a moment to reach its cluster again: an
    // unanswered check is retried for a while, since "keep" would risk a name held twice.
    int unanswered = 0;
    for (int attempt = 0; attempt < 2;) {
      const entry e = read_entry(key);
      if (e.status != NATS_OK && e.status != NATS_NOT_FOUND && ++unanswered < 20 && !stopping_.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        continue;
      }
      ++attempt;
      if (e.status == NATS_NOT_FOUND) {
        if (const std::uint64_t revision = create_entry(key, room)) {
          log_.info("cluster: room '{}' written back into the directory after the outage", room);
          return done(true, revision);
        }
        continue;  // someone took it meanwhile: look again
      }
      if (e.status != NATS_OK) return done(true, 0);
      const bool ours = e.ours(*this);
      return done(ours, ours ? e.revision : 0);
    }
    done(true, 0);
  });
}

void cluster_node::cancel_forward(const std::string& id) {
  std::lock_guard lock(sinks_mutex_);
  sinks_.erase(id);
}

std::string cluster_node::forward(const std::string& node, std::vector<std::uint8_t> request,
                                  const libchat::ip_address& client, std::weak_ptr<forward_sink> sink,
                                  std::function<void(forward_answer)> done) {
  std::string id;
  {
    std::lock_guard lock(sinks_mutex_);
    id = std::to_string(++next_forward_);
    sinks_[id] = std::move(sink);  // before the request: the first frame may beat the ack
  }
  asio::post(workers_, [this, node, id, request = std::move(request), client, done = std::move(done)] {
    const auto forget = [&] {
      std::lock_guard lock(sinks_mutex_);
      sinks_.erase(id);
    };
    if (!ready()) {
      forget();
      return done(forward_answer::unavailable);
    }
    natsMsg* m = nullptr;
    const std::string subj = subject("node." + node + ".handshake");
    if (natsMsg_Create(&m, subj.c_str(), nullptr, reinterpret_cast<const char*>(request.data()),
                       static_cast<int>(request.size())) != NATS_OK) {
      forget();
      return done(forward_answer::unavailable);
    }
    msg_ptr owned{m};
    natsMsgHeader_Set(m, "Client-IP", client.to_string().c_str());
    natsMsgHeader_Set(m, "Reply-To", subject("node." + settings_.node + ".reply." + id).c_str());
    natsMsg* ack = nullptr;
    const natsStatus s = natsConnection_RequestMsg(&ack, nats_->connection, m, forward_ack_ms);
    msg_ptr owned_ack{ack};
    if (s == NATS_OK) return done(forward_answer::accepted);
    forget();
    done(s == NATS_NO_RESPONDERS ? forward_answer::no_home : forward_answer::unavailable);
  });
  return id;
}

void cluster_node::dispatch_reply(const std::string& id, std::vector<std::uint8_t> bytes, bool last) {
  std::shared_ptr<forward_sink> sink;
  {
    std::lock_guard lock(sinks_mutex_);
    const auto it = sinks_.find(id);
    if (it == sinks_.end()) return;
    sink = it->second.lock();
    if (last || !sink) sinks_.erase(it);
  }
  if (sink) sink->on_frame(std::move(bytes), last);
}

}  // namespace chat_server::cluster
