#!/usr/bin/env bash
# Tries cluster mode on one machine (docs/cluster.md): installs what is missing (nats-server
# too), builds, and runs a nats-server with JetStream on 127.0.0.1:4222 and three chat-server
# nodes on 127.0.0.1, 127.0.0.2 and 127.0.0.3, port 9000 each, sharing one key. Ctrl-C stops them
# all. Then, in other terminals:
#   ./build/cli-client/chat-client --server 127.0.0.1:9000 --create lobby --name alice
#   ./build/cli-client/chat-client --server 127.0.0.2:9000 --join lobby --name bob
# Extra arguments go to every node (for example --allow-plaintext or --log-level debug).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --cluster
build_dir=${LIBCHAT_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" --target chat-server chat-client

state=${LIBCHAT_CLUSTER_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/chat-cluster}
mkdir -p "$state"
pids=()
stop() {
  trap - INT TERM EXIT
  ((${#pids[@]})) && kill -TERM "${pids[@]}" 2>/dev/null || true
  wait || true
}
trap stop INT TERM EXIT

# Each program's lines are prefixed with its name; $! is the program itself, not the prefixer.
/usr/sbin/nats-server -js -a 127.0.0.1 -p 4222 -sd "$state/jetstream" > >(sed -u 's/^/[nats] /') 2>&1 &
pids+=($!)
sleep 1
for n in 1 2 3; do
  "$build_dir/server/chat-server" --bind "127.0.0.$n" --port 9000 --key-file "$state/server.key" \
    --cluster nats://127.0.0.1:4222 --node-name "node$n" "$@" > >(sed -u "s/^/[node$n] /") 2>&1 &
  pids+=($!)
  sleep 0.5  # the first node writes the shared key file
done
echo "three nodes at 127.0.0.1:9000, 127.0.0.2:9000, 127.0.0.3:9000 (Ctrl-C stops them)" >&2
wait
