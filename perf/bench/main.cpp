// chat-bench: the load generator and measuring instrument for chat-server (issue 4).
// perf/README.md explains each mode and how to read the figures.
#include "interrupt.hpp"
#include "options.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "self_allocs.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>

int main(int argc, char** argv) {
  chat_bench::init_self_allocation_counter();
  const auto parsed = chat_bench::parse_options(argc, argv);
  if (!parsed.opts) return parsed.exit_code;
  const auto& o = *parsed.opts;
  chat_bench::install_interrupt_handlers();

  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);

  chat_bench::runner runner(o);
  const auto report = runner.run(command);
  std::cout << (o.json ? chat_bench::format_json(report) : chat_bench::format_table(report)) << std::flush;
  if (!o.json_file.empty()) {
    std::ofstream file(o.json_file);
    file << chat_bench::format_json(report);
    if (!file.flush()) {
      std::cerr << "chat-bench: cannot write " << o.json_file << "\n";
      return 1;
    }
  }
  if (!report.error.empty()) {
    std::cerr << "chat-bench: " << report.error << "\n";
    return 1;
  }
  if (chat_bench::interrupted()) return 130;
  if (o.require_zero_loss) {
    for (const auto& p : report.phases) {
      if ((p.mode == "fixed" || p.mode == "sweep") && (p.counts.delivered < p.expected || p.counts.sent == 0)) {
        std::cerr << "chat-bench: " << p.target << " lost " << (p.expected - p.counts.delivered) << " of "
                  << p.expected << " deliveries\n";
        return 3;
      }
      if (p.counts.open_failed > 0) {
        std::cerr << "chat-bench: " << p.counts.open_failed << " datagrams from " << p.target << " did not open\n";
        return 3;
      }
    }
  }
  return 0;
}
