#!/usr/bin/env bash
# Installs what is missing, builds everything with warnings as errors, and runs the whole test
# suite:
#   1. the release build: unit, integration (the real server over loopback), the terminal client
#      driven through tmux, packaging consumers, the Debian packages built and checked (label
#      "package"; --test installs their tools), fuzz regressions replayed, the benchmark smoke run;
#   2. the desktop client's tests (protocol against the real server, UI in headless Chromium);
#   3. the same C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer, against a shared
#      libchat with hidden visibility (so a symbol the headers forgot to export fails the link,
#      and label "exports" checks that nothing internal is exported);
#   4. the integration tests under ThreadSanitizer, the server on 4 threads;
#   5. a short libFuzzer campaign of every fuzz target (clang-14).
# Steps 3-5 can be skipped with LIBCHAT_QUICK=1 (for a fast local run); CI runs them all.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
step() { printf '\n=== %s (%d s so far)\n' "$*" $((SECONDS - started)) >&2; }

step "dependencies"
bash scripts/install-deps.sh --test --fuzz
build_dir=${LIBCHAT_BUILD_DIR:-build}
case $build_dir in
  /*) abs_build_dir=$build_dir ;;
  *) abs_build_dir=$PWD/$build_dir ;;
esac
jobs=$(nproc)

step "release build and tests"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIBCHAT_WARNINGS_AS_ERRORS=ON >/dev/null
cmake --build "$build_dir"
ctest --test-dir "$build_dir" --output-on-failure --timeout 300 -j "$jobs"

# desktop/ (the Electron + browser client) is its own npm package. `npm ci` installs it from
# package-lock.json without install scripts (desktop/.npmrc), so Electron's binary is not
# downloaded (ELECTRON_SKIP_BINARY_DOWNLOAD says so again for older npm versions); `npm test`
# type-checks (Electron's own type definitions included) and runs the protocol tests against
# the chat-server and chat-client built above, and the UI tests in headless Chromium.
step "desktop client"
(
  cd desktop
  ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --no-audit --no-fund
  CHAT_SERVER="$abs_build_dir/server/chat-server" CHAT_CLIENT="$abs_build_dir/cli-client/chat-client" npm test
)

if [[ "${LIBCHAT_QUICK:-}" == 1 ]]; then
  step "done (sanitizers and fuzzing skipped: LIBCHAT_QUICK=1)"
  exit 0
fi

# Sanitizer builds leave out the benchmarks and the packaging (help2man would run the sanitized
# programs at build time); they build what the tests they run need.
step "AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B "$build_dir-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBUILD_SHARED_LIBS=ON -DLIBCHAT_BUILD_PERF=OFF -DLIBCHAT_PACKAGING=OFF \
  -DCMAKE_CXX_FLAGS="-O1 -g1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" >/dev/null
cmake --build "$build_dir-asan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$build_dir-asan" --output-on-failure --timeout 600 -j "$jobs" -L 'unit|exchange|integration|attack|cli|cluster|fuzz|exports'

# More server threads than cores, so that strands really run in parallel. The test harness aborts
# when a server's log holds a sanitizer report (test/integration/server_process.cpp).
step "ThreadSanitizer"
cmake -S . -B "$build_dir-tsan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLIBCHAT_BUILD_PERF=OFF -DLIBCHAT_BUILD_CLIENT=OFF -DLIBCHAT_PACKAGING=OFF \
  -DCMAKE_CXX_FLAGS="-O1 -g1 -fsanitize=thread -Wno-tsan" >/dev/null
cmake --build "$build_dir-tsan" --target chat-server chat_integration_tests chat_attack_tests
CHAT_TEST_SERVER_THREADS=4 TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/test/tsan.supp" \
  ctest --test-dir "$build_dir-tsan" --output-on-failure --timeout 600 -j "$jobs" -L 'integration|attack'

step "fuzz smoke"
FUZZ_BUILD_DIR="$abs_build_dir-fuzz" fuzz/smoke.sh "${LIBCHAT_FUZZ_SECONDS:-10}"

step "done"
