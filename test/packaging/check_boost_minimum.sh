#!/usr/bin/env bash
# libchat asks for Boost 1.81 or newer, not exactly 1.81. With only an older Boost in sight (a
# stand-in BoostConfig.cmake that says 1.74.0, Debian 11's version), both libchat's own
# configuration and an outside project's find_package(libchat) against libchat-dev must stop
# with a message that names both versions. ctest runs it (test/packaging/, label "package"):
#
#   check_boost_minimum.sh DEB_DIR SOURCE_DIR CMAKE CXX [NINJA]
set -euo pipefail

if [[ $# -lt 4 ]]; then
  echo "usage: $0 DEB_DIR SOURCE_DIR CMAKE CXX [NINJA]" >&2
  exit 2
fi
deb_dir=$1 source_dir=$2 cmake=$3 cxx=$4 ninja=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test/packaging/common.sh
source "$here/common.sh"

old=$tmp/old-boost/lib/cmake/Boost-1.74.0
mkdir -p "$old"
echo 'set(Boost_FOUND TRUE)' >"$old/BoostConfig.cmake"
# The same rule as Boost's own version file: compatible with any request up to its version.
cat >"$old/BoostConfigVersion.cmake" <<'EOF'
set(PACKAGE_VERSION 1.74.0)
if(PACKAGE_VERSION VERSION_LESS PACKAGE_FIND_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
endif()
EOF
root=$tmp/root
dpkg-deb -x "$(one_deb libchat-dev)" "$root"

# Only the prefixes given here are searched (the system's Boost 1.81 would be found otherwise).
only_these=(-G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF
            -DCMAKE_FIND_USE_SYSTEM_ENVIRONMENT_PATH=OFF -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
[[ -n "$ninja" ]] && only_these+=(-DCMAKE_MAKE_PROGRAM="$ninja")

# expect_refusal NAME SOURCE PREFIXES PATTERN...: configuring SOURCE fails, and its output has
# every PATTERN (fixed strings).
expect_refusal() {
  local name=$1 source=$2 prefixes=$3 pattern
  shift 3
  if "$cmake" -S "$source" -B "$tmp/$name" "${only_these[@]}" -DCMAKE_PREFIX_PATH="$prefixes" \
       >"$tmp/$name.log" 2>&1; then
    fail "$name: configured with Boost 1.74"
    return
  fi
  for pattern in "$@"; do
    grep -qF -- "$pattern" "$tmp/$name.log" || fail "$name: the message lacks '$pattern': $(cat "$tmp/$name.log")"
  done
}

# CMake wraps its message: each pattern stays within one line of it.
expect_refusal libchat "$source_dir" "$tmp/old-boost" \
  'Could not find a configuration file for package "Boost"' 'requested version "1.81"' 'version: 1.74.0'
expect_refusal consumer "$source_dir/test/consumer/find_package" "$tmp/old-boost;$root/usr" \
  'Could not find a configuration file for package "Boost"' 'requested version "1.81"' 'version: 1.74.0' \
  'libchatConfig.cmake'

finish
