// A network of our own for one test process: a fresh network namespace whose loopback interface
// carries the IPv6 addresses a test needs (for example many hosts of one /64), so that a test can
// speak from addresses the machine does not have without touching the machine's own network.
// Needs CAP_SYS_ADMIN and CAP_NET_ADMIN (root, as the test suite runs); ctest runs each test case
// in its own process, so the namespace ends with it.
#pragma once

#include <string>
#include <vector>

namespace chat_test {

/// Moves this process (its calling thread, and every process it starts later) into a new network
/// namespace, brings its loopback up and adds each address (IPv6, with its prefix length) to it.
/// Throws std::runtime_error saying what failed.
void enter_private_network(const std::vector<std::pair<std::string, unsigned>>& ipv6_addresses);

}  // namespace chat_test
