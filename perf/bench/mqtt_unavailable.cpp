// Stands in for mqtt_members.cpp when libmosquitto is not installed: --mqtt then fails with a
// clear message instead of the build failing.
#include "mqtt_members.hpp"

#include <stdexcept>

namespace chat_bench {
namespace {
[[noreturn]] void unavailable() {
  throw std::runtime_error("chat-bench was built without libmosquitto: install libmosquitto-dev "
                           "(scripts/install-deps.sh --perf) and rebuild to use --mqtt");
}
}  // namespace

void mqtt_library_init() { unavailable(); }
mqtt_population::mqtt_population(const shape&, const population_options&) { unavailable(); }
mqtt_population::~mqtt_population() = default;
void mqtt_population::connect_and_subscribe(const endpoint&) { unavailable(); }
mqtt_worker::mqtt_worker(std::size_t index, std::size_t count, std::vector<mqtt_member*>)
    : load_worker(index, count, 0) {
  unavailable();
}
mqtt_worker::~mqtt_worker() = default;
void mqtt_worker::on_message(const void*, int) noexcept {}
void mqtt_worker::wait_and_receive(std::int64_t) {}
bool mqtt_worker::send_chat(std::size_t, const stamp&) { return false; }
void mqtt_worker::housekeeping(std::int64_t) {}
}  // namespace chat_bench
