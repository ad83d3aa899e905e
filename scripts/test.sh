#!/usr/bin/env bash
# Installs what is missing, builds everything with warnings as errors, and runs the whole test
# suite: unit, integration (the real server over loopback), the terminal client driven through
# tmux, the packaging consumers and the benchmark smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --test
build_dir=${LIBCHAT_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIBCHAT_WARNINGS_AS_ERRORS=ON >/dev/null
cmake --build "$build_dir"
ctest --test-dir "$build_dir" --output-on-failure --timeout 300 -j "$(nproc)"

# --- desktop/ (the Electron + browser client): its own npm package. `npm ci` installs it from
# package-lock.json without install scripts (desktop/.npmrc), so Electron's binary is not
# downloaded (ELECTRON_SKIP_BINARY_DOWNLOAD says so again for older npm versions); `npm test`
# type-checks (Electron's own type definitions included) and runs the protocol tests against
# the chat-server and chat-client built above, and the UI tests in headless Chromium.
case $build_dir in
  /*) abs_build_dir=$build_dir ;;
  *) abs_build_dir=$PWD/$build_dir ;;
esac
(
  cd desktop
  ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --no-audit --no-fund
  CHAT_SERVER="$abs_build_dir/server/chat-server" CHAT_CLIENT="$abs_build_dir/cli-client/chat-client" npm test
)
