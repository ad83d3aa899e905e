#!/usr/bin/env bash
# The figures of docs/performance.md in one command: builds a release tree (build-perf/), then
# runs, alternating the systems within each run so that their ratios hold on a noisy machine:
#   1. the floor load on chat-server (plaintext and encrypted), limit-relay and Mosquitto;
#   2. saturation at 500 x 10 for the same (Mosquitto's only if --with-mqtt-max);
#   3. the room-size sweep (2, 10, 100, 1000) at the floor's relay load;
#   4. saturation with --server-threads 1 and 2;
#   5. saturation at the scaling question's shapes (1:1 rooms and 4-person groups, encrypted);
#   6. memory per member and per room with 100,000 members (perf/memory.sh);
#   7. Mosquitto's saturation at 500 x 10.
# Results go to perf-results/<date>/ (one .txt and one .json per run) and take about 17 minutes;
# then perf/plot.py draws them into perf-results/<date>/plots/ (throughput.svg, cpu.svg,
# latency.svg), which docs/performance.md shows once copied to docs/perf/.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --perf
cmake -S . -B build-perf -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIBCHAT_BUILD_TESTS=OFF >/dev/null
cmake --build build-perf --target chat-server chat-bench limit-relay malloc_count
bench=build-perf/perf/chat-bench
out=perf-results/$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"

run() {
  local name=$1
  shift
  echo "== $name: chat-bench $*" | tee "$out/$name.txt"
  uptime | tee -a "$out/$name.txt"
  "$bench" "$@" --json-file "$out/$name.json" 2>&1 | tee -a "$out/$name.txt"
  uptime | tee -a "$out/$name.txt"
}

run floor --floor --compare --encrypt --mqtt --repeat 3 --count-allocs
run max --max --floor --compare --encrypt
run sweep --sweep --compare --encrypt --duration 5
run threads-1 --max --floor --target chat-server-enc --server-threads 1
run threads-2 --max --floor --target chat-server-enc --server-threads 2
run shapes --sweep --max --sweep-sizes 2,4 --target chat-server,chat-server-enc,limit-relay
echo "== memory: perf/memory.sh 100000" | tee "$out/memory.txt"
bash perf/memory.sh 100000 build-perf 2>/dev/null | tee -a "$out/memory.txt"
run mqtt-max --max --floor --target limit-relay,mqtt
python3 perf/plot.py "$out/plots" "$out"/*.json
echo "results in $out (to publish the plots: cp $out/plots/*.svg docs/perf/)"
