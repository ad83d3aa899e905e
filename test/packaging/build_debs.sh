#!/usr/bin/env bash
# Makes the three .debs of a built tree, as scripts/package.sh does, into OUT_DIR (emptied
# first). ctest runs it once as the fixture of the other package tests (test/packaging/):
#
#   build_debs.sh CPACK BINARY_DIR OUT_DIR
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 CPACK BINARY_DIR OUT_DIR" >&2
  exit 2
fi
cpack=$1 binary_dir=$2 out_dir=$3

rm -rf "$out_dir"
mkdir -p "$out_dir"
# The staging area (_CPack_Packages) goes to OUT_DIR too, so that the build folder is left as it
# was and a run of scripts/package.sh there is not disturbed.
"$cpack" -G DEB --config "$binary_dir/CPackConfig.cmake" -B "$out_dir" >"$out_dir/cpack.log" 2>&1 || {
  cat "$out_dir/cpack.log" >&2
  exit 1
}
rm -rf "$out_dir/_CPack_Packages"

status=0
for package in chat-server chat-client libchat-dev; do
  debs=("$out_dir/${package}"_*.deb)
  if [[ ${#debs[@]} -ne 1 || ! -f ${debs[0]} ]]; then
    echo "package: expected one ${package}_*.deb in $out_dir" >&2
    status=1
  else
    echo "${debs[0]}"
  fi
done
if ((status)); then
  cat "$out_dir/cpack.log" >&2
  ls -l "$out_dir" >&2
fi
exit "$status"
