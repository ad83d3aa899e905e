#!/usr/bin/env bash
# Installs what is missing, builds chat-server and chat-client, and runs the server in the
# foreground on 127.0.0.1:9000 (TCP handshake and UDP chat). Extra arguments go to chat-server:
#   ./scripts/run-server.sh --bind 0.0.0.0 --port 9000
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
build_dir=${LIBCHAT_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" --target chat-server chat-client
echo "chat-client is at $build_dir/cli-client/chat-client (try: $build_dir/cli-client/chat-client --help)" >&2
exec "$build_dir/server/chat-server" "$@"
