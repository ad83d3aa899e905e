#!/usr/bin/env bash
# The relay in cluster mode (docs/cluster.md): a nats-server with JetStream and three chat-server
# nodes on 127.0.0.1-3; chat-bench attaches to node 1, where every room lives, and runs the same
# load twice: every member joined through node 1, then each room's members other than its host
# joined through nodes 2 and 3 (forwarded), sending their datagrams where udp_host says; then the
# rooms themselves spread over the three nodes (created through each in turn, joined through any).
# The relay figures should agree: datagrams never cross nodes. After each run, the CPU the three
# nodes and NATS spent (handshakes included).
#   bash perf/cluster-relay.sh [build-dir] [chat-bench load flags...]   (default: --floor)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
load=("$@")
((${#load[@]})) || load=(--floor)

dir=$(mktemp -d /tmp/cluster-relay.XXXXXX)
pids=()
cleanup() {
  ((${#pids[@]})) && kill -TERM "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

ticks() {  # utime + stime of the given PIDs, in clock ticks
  local total=0 p
  for p in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$total"
}
hz=$(getconf CLK_TCK)

/usr/sbin/nats-server -js -a 127.0.0.1 -p -1 -sd "$dir/js" -l "$dir/nats.log" &
pids+=($!)
nats_pid=$!
for _ in $(seq 50); do grep -q "Server is ready" "$dir/nats.log" 2>/dev/null && break; sleep 0.1; done
nats=$(grep -oE 'client connections on 127.0.0.1:[0-9]+' "$dir/nats.log" | sed 's/.*://')

declare -A port pid
for n in 1 2 3; do
  "$build/server/chat-server" --bind "127.0.0.$n" --port 0 --key-file "$dir/server.key" --stats-interval 0 \
    --cluster "nats://127.0.0.1:$nats" --node-name "node$n" --handshake-rate 0 --max-handshakes-per-ip 100000 \
    --max-rooms-per-ip 100000 --max-tokens-per-ip 1000000 --join-rate 0 2>"$dir/node$n.log" &
  pid[$n]=$!
  pids+=($!)
  for _ in $(seq 100); do grep -q "room directory ready" "$dir/node$n.log" 2>/dev/null && break; sleep 0.1; done
  port[$n]=$(grep -oE 'listening tcp=[0-9.]+:[0-9]+' "$dir/node$n.log" | sed 's/.*://')
done

bench=("$build/perf/chat-bench" --connect "127.0.0.1:${port[1]}" --server-pid "${pid[1]}" --target chat-server-enc
       "${load[@]}")
measured() {  # run chat-bench with the given extra flags, then say what the cluster spent
  local nodes_before nats_before
  nodes_before=$(ticks "${pid[1]}" "${pid[2]}" "${pid[3]}")
  nats_before=$(ticks "$nats_pid")
  "${bench[@]}" --quiet "$@"
  awk -v n=$(($(ticks "${pid[1]}" "${pid[2]}" "${pid[3]}") - nodes_before)) \
      -v s=$(($(ticks "$nats_pid") - nats_before)) -v hz="$hz" \
      'BEGIN { printf "cluster CPU for the run: nodes %.2f s, nats-server %.2f s\n", n / hz, s / hz }'
}
others="127.0.0.2:${port[2]},127.0.0.3:${port[3]}"
all="127.0.0.1:${port[1]},$others"
echo "== every member joined through node 1 (the rooms' node)"
measured
echo "== members other than each room's host joined through nodes 2 and 3 (forwarded)"
measured --join-via "$others"
echo "== rooms spread over the three nodes, members joined through each in turn"
echo "   (chat-bench's server CPU line is node 1's alone, a third of the rooms)"
measured --create-via "$all" --join-via "$all"
