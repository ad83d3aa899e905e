#!/usr/bin/env bash
# Runs a fuzz target once on every file under the directories given (missing ones are skipped):
#   fuzz/replay.sh build/fuzz/fuzz_utf8 fuzz/corpus/fuzz_utf8 fuzz/regressions/fuzz_utf8
# Works with both builds of a target: the libFuzzer binary runs each file named on its command
# line once, and so does the plain replay driver. Exits non-zero if any input fails an oracle.
set -euo pipefail
exe=$1
shift
files=()
for dir in "$@"; do
  [[ -d $dir ]] || continue
  while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$dir" -type f ! -name '.*' -print0 | sort -z)
done
if ((${#files[@]} == 0)); then
  echo "replay: no inputs under $*"
  exit 0
fi
echo "replay: ${#files[@]} inputs through $(basename "$exe")"
exec "$exe" "${files[@]}"
