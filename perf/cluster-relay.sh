#!/usr/bin/env bash
# The relay in cluster mode (docs/cluster.md): a nats-server with JetStream and three chat-server
# nodes on 127.0.0.1-3; chat-bench attaches to node 1, where every room lives, and runs the same
# load twice: every member joined through node 1, then each room's members other than its host
# joined through nodes 2 and 3 (forwarded), sending their datagrams where udp_host says. The two
# figures should agree: datagrams never cross nodes.
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

/usr/sbin/nats-server -js -a 127.0.0.1 -p -1 -sd "$dir/js" -l "$dir/nats.log" &
pids+=($!)
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
echo "== every member joined through node 1 (the rooms' node)"
"${bench[@]}" --quiet
echo "== members other than each room's host joined through nodes 2 and 3 (forwarded)"
"${bench[@]}" --quiet --join-via "127.0.0.2:${port[2]},127.0.0.3:${port[3]}"
