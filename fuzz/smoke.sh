#!/usr/bin/env bash
# Fuzz smoke: builds every fuzz target with clang-14, libFuzzer, ASan and UBSan, and runs each for a
# few seconds from its seed corpus and regressions, with the dictionary.
#
#   fuzz/smoke.sh [seconds] [target...]      # default: 20 s each, every target
#
# Environment: CXX (default clang++-14), FUZZ_BUILD_DIR (default build-fuzz), FUZZ_JOBS (build
# parallelism, default 2), FUZZ_ARGS (extra libFuzzer flags, e.g. -use_value_profile=1),
# FUZZ_CORPUS_DIR (keep each target's growing corpus in $FUZZ_CORPUS_DIR/<target> across runs,
# for longer campaigns; by default a temporary copy of the seeds is used and thrown away).
# Prints each target's executions and coverage; exits non-zero on any finding (the input is kept
# under $FUZZ_BUILD_DIR/findings/<target>/, see fuzz/README.md to minimise it and add it as a
# regression).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-20}
[[ $# -gt 0 ]] && shift
all_targets=(fuzz_tcrp_stream fuzz_tcrp_request fuzz_tcrp_response fuzz_udp_c2s fuzz_udp_s2c fuzz_utf8 fuzz_room_ops
             fuzz_lobby fuzz_replay_window fuzz_handshake fuzz_sealed_datagram)
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
cxx=${CXX:-clang++-14}

# Longest input worth trying per target: a frame or payload just over the server's 8192-byte limit,
# a datagram just over 4096, a name well over 255, programs of a few hundred steps.
max_len() {
  case $1 in
    fuzz_tcrp_stream | fuzz_tcrp_request | fuzz_tcrp_response) echo 9000 ;;
    fuzz_udp_c2s | fuzz_udp_s2c) echo 4200 ;;
    fuzz_utf8) echo 1024 ;;
    fuzz_room_ops) echo 4096 ;;
    fuzz_lobby) echo 8192 ;;
    fuzz_replay_window) echo 4096 ;;
    fuzz_handshake) echo 2048 ;;
    fuzz_sealed_datagram) echo 4200 ;;
    fuzz_server_exchange) echo 9200 ;;
    *) echo 4096 ;;
  esac
}

if ! command -v "$cxx" >/dev/null; then
  echo "smoke: $cxx not found (scripts/install-deps.sh --fuzz installs clang-14 and libFuzzer)" >&2
  exit 2
fi

flags="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"
flags+=" -D_GLIBCXX_ASSERTIONS"
mkdir -p "$build"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Debug \
  -DLIBCHAT_FUZZ=ON -DLIBCHAT_BUILD_SERVER=OFF -DLIBCHAT_BUILD_CLIENT=OFF -DLIBCHAT_BUILD_TESTS=OFF \
  -DLIBCHAT_BUILD_PERF=OFF -DCMAKE_CXX_FLAGS="$flags" >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log" >&2; exit 2; }
cmake --build "$build" -j "${FUZZ_JOBS:-2}" --target "${targets[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if [[ -z ${ASAN_SYMBOLIZER_PATH:-} && -x /usr/lib/llvm-14/bin/llvm-symbolizer ]]; then
  export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
fi

failed=()
summary=()
for t in "${targets[@]}"; do
  work=$(mktemp -d "${TMPDIR:-/tmp}/smoke-$t.XXXXXX")
  corpus=$work/corpus
  [[ -n ${FUZZ_CORPUS_DIR:-} ]] && corpus=$FUZZ_CORPUS_DIR/$t
  mkdir -p "$corpus"
  for dir in "$root/fuzz/corpus/$t" "$root/fuzz/regressions/$t"; do
    [[ -d $dir ]] && find "$dir" -type f ! -name '.*' -exec cp {} "$corpus/" \;
  done
  echo "smoke: $t for ${seconds}s (max_len $(max_len "$t"))"
  rc=0
  # shellcheck disable=SC2086
  "$build/fuzz/$t" -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
    -dict="$root/fuzz/chat.dict" -print_final_stats=1 -artifact_prefix="$work/" ${FUZZ_ARGS:-} \
    "$corpus" >"$work/log" 2>&1 || rc=$?
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$work/log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -1 | awk '{print $2}')
  ft=$(grep -o 'ft: [0-9]*' "$work/log" | tail -1 | awk '{print $2}')
  units=$(find "$corpus" -type f | wc -l)
  line=$(printf '%-20s execs %-10s cov %-6s ft %-6s corpus %s' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$units")
  if ((rc != 0)); then
    mkdir -p "$build/findings/$t"
    find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) \
      -exec cp {} "$build/findings/$t/" \;
    cp "$work/log" "$build/findings/$t/log"
    echo "smoke: $t FAILED (exit $rc); inputs and log in $build/findings/$t/" >&2
    grep -E '==fuzz check failed==|ERROR: |SUMMARY: |runtime error' -A2 "$work/log" | head -20 >&2 || true
    failed+=("$t")
    line+=" FAILED"
  fi
  summary+=("$line")
  rm -rf "$work"
done

echo
echo "fuzz smoke, ${seconds}s per target:"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "findings in: ${failed[*]}" >&2
  exit 1
fi
