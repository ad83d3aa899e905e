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
