#include "cluster_settings.hpp"

#include "directory_record.hpp"

#include "libchat/address.hpp"

#include <iostream>

namespace chat_server::cluster {
namespace po = boost::program_options;

po::options_description cluster_options() {
  const settings d;
  po::options_description o("Cluster (docs/cluster.md)");
  o.add_options()
      ("cluster", po::value<std::string>(),
       "Run as one node of a cluster on NATS: nats://HOST:PORT[,nats://HOST:PORT...], the NATS "
       "servers (with JetStream) that hold the room directory. Off by default: a single server.")
      ("node-name", po::value<std::string>(),
       "This node's name, unique in the cluster: 1-64 letters, digits, '_' or '-'. Required with --cluster.")
      ("advertise", po::value<std::string>(),
       "The IP address clients send this node's chat datagrams to (told to them as udp_host). "
       "Required with --cluster; --bind's address when that is not a wildcard.")
      ("node-timeout", po::value<double>()->default_value(static_cast<double>(d.node_timeout.count()) / 1000.0),
       "Seconds without a heartbeat after which a node is taken for dead and the names of its rooms are freed.")
      ("cluster-buckets", po::value<unsigned>()->default_value(d.buckets),
       "JetStream KV buckets the room directory is spread over by name hash (the same on every node).")
      ("cluster-replicas", po::value<int>()->default_value(d.replicas),
       "Replicas of each directory bucket in the NATS cluster (3 survives the loss of one NATS server).")
      ("cluster-creds", po::value<std::string>(),
       "NATS credentials file (JWT and NKey seed). Use it in production: forwarded handshakes carry "
       "clients' addresses and NATS holds the directory.")
      ("cluster-tls-ca", po::value<std::string>(),
       "Connect to NATS over TLS, trusting the CA certificates in FILE.");
  return o;
}

namespace {
std::vector<std::string> split_urls(const std::string& text) {
  std::vector<std::string> urls;
  std::size_t at = 0;
  while (at <= text.size()) {
    const auto comma = text.find(',', at);
    const auto url = text.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (!url.empty()) urls.push_back(url);
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return urls;
}

bool fail(const std::string& why) {
  std::cerr << "chat-server: " << why << "\n";
  return false;
}
}  // namespace

std::string redacted_url(const std::string& url) {
  const auto scheme = url.find("://");
  const auto host_from = scheme == std::string::npos ? 0 : scheme + 3;
  const auto at = url.rfind('@');
  if (at == std::string::npos || at < host_from) return url;
  // Only within the authority: an '@' after the first '/' is the path's.
  const auto slash = url.find('/', host_from);
  if (slash != std::string::npos && slash < at) return url;
  return url.substr(0, host_from) + "***" + url.substr(at);
}

bool read_cluster_options(const po::variables_map& vm, std::optional<settings>& out) {
  out.reset();
  if (!vm.count("cluster")) {
    for (const char* name : {"node-name", "advertise", "cluster-creds", "cluster-tls-ca"})
      if (vm.count(name)) return fail(std::string("--") + name + " needs --cluster");
    return true;
  }
  settings s;
  s.urls = split_urls(vm["cluster"].as<std::string>());
  if (s.urls.empty()) return fail("--cluster needs at least one nats://HOST:PORT");
  for (const auto& u : s.urls)
    if (u.rfind("nats://", 0) != 0 && u.rfind("tls://", 0) != 0)
      return fail("--cluster takes nats://HOST:PORT addresses (got " + u + ")");
  if (!vm.count("node-name")) return fail("--cluster needs --node-name (unique in the cluster)");
  s.node = vm["node-name"].as<std::string>();
  if (!valid_node_name(s.node)) return fail("--node-name must be 1-64 letters, digits, '_' or '-' (got " + s.node + ")");
  if (vm.count("advertise")) {
    s.advertise = vm["advertise"].as<std::string>();
  } else {
    const std::string bind = vm["bind"].as<std::string>();
    if (bind == "0.0.0.0" || bind == "::") return fail("--cluster with --bind " + bind + " needs --advertise");
    s.advertise = bind;
  }
  if (!libchat::ip_address::parse(s.advertise))
    return fail("--advertise must be an IP address, the one clients reach this node at (got " + s.advertise + ")");
  const double timeout = vm["node-timeout"].as<double>();
  if (!(timeout >= 0.5 && timeout <= 3600)) return fail("--node-timeout must be from 0.5 to 3600 seconds");
  s.node_timeout = std::chrono::milliseconds(static_cast<long long>(timeout * 1000));
  s.buckets = vm["cluster-buckets"].as<unsigned>();
  if (s.buckets < 1 || s.buckets > 1024) return fail("--cluster-buckets must be from 1 to 1024");
  s.replicas = vm["cluster-replicas"].as<int>();
  if (s.replicas < 1 || s.replicas > 5) return fail("--cluster-replicas must be from 1 to 5");
  if (vm.count("cluster-creds")) s.creds_file = vm["cluster-creds"].as<std::string>();
  if (vm.count("cluster-tls-ca")) s.tls_ca = vm["cluster-tls-ca"].as<std::string>();
  out = std::move(s);
  return true;
}

}  // namespace chat_server::cluster
