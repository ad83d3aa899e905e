// Cluster mode's settings (--cluster and its companions), and their parsing.
#pragma once

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace chat_server::cluster {

struct settings {
  std::vector<std::string> urls;  ///< nats://HOST:PORT, one per NATS server
  std::string node;               ///< --node-name: unique in the cluster
  std::string advertise;          ///< --advertise: the IP address clients send datagrams to
  std::chrono::milliseconds node_timeout{5000};
  std::string creds_file;  ///< --cluster-creds
  std::string tls_ca;      ///< --cluster-tls-ca
  unsigned buckets = 8;    ///< the directory's KV buckets (a name's hash picks one)
  int replicas = 1;        ///< each bucket's replicas in a NATS cluster (JetStream Raft)
};

/// The "Cluster" section of --help.
boost::program_options::options_description cluster_options();
/// Reads the cluster flags: nullopt settings without --cluster; false (after a one-line message on
/// stderr) when they are inconsistent.
/// `url` fit for a log: the user, password or token before an '@' replaced by "***"
/// ("nats://***@host:4222"), since logs are read by more people than hold the credentials.
std::string redacted_url(const std::string& url);

bool read_cluster_options(const boost::program_options::variables_map& vm, std::optional<settings>& out);

}  // namespace chat_server::cluster
