#!/usr/bin/env bash
# The libchat-dev package as a developer gets it: its control fields, then test/consumer/'s
# find_package project built and run against the package's files, extracted with dpkg -x into a
# scratch root. ctest runs it (test/packaging/, label "package") after build_debs.sh:
#
#   check_libchat_dev.sh DEB_DIR SOURCE_DIR CMAKE CXX VERSION [NINJA]
set -euo pipefail

if [[ $# -lt 5 ]]; then
  echo "usage: $0 DEB_DIR SOURCE_DIR CMAKE CXX VERSION [NINJA]" >&2
  exit 2
fi
deb_dir=$1 source_dir=$2 cmake=$3 cxx=$4 version=$5 ninja=${6:-}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test/packaging/common.sh
source "$here/common.sh"

dev_deb=$(one_deb libchat-dev)
check_field "$dev_deb" Version "^$version-1\$"
for dependency in libboost1.81-dev libboost-json1.81-dev 'libcrypto\+\+-dev'; do
  check_field "$dev_deb" Depends "(^|, )$dependency(,|\$| )"
done
check_field "$dev_deb" Section "^libdevel\$"

root=$tmp/root
dpkg-deb -x "$dev_deb" "$root"
[[ -e $root/usr/bin ]] && fail "libchat-dev installs programs: $(ls "$root/usr/bin")"
[[ -f $root/usr/include/libchat/room.hpp ]] || fail "libchat-dev lacks /usr/include/libchat/room.hpp"
# Generated at build time (LIBCHAT_EXPORT), so it is not in the source tree's include/.
[[ -f $root/usr/include/libchat/export.hpp ]] || fail "libchat-dev lacks /usr/include/libchat/export.hpp"
[[ -f $root/usr/share/doc/libchat-dev/copyright ]] || fail "libchat-dev lacks its copyright file"
libraries=$(find "$root/usr/lib" -name 'libchat.a')
configs=$(find "$root/usr/lib" -path '*/cmake/libchat/libchatConfig.cmake')
[[ -n $libraries ]] || fail "libchat-dev lacks libchat.a"
[[ -n $configs ]] || fail "libchat-dev lacks libchatConfig.cmake"

# The consumer project, pointed at the scratch root alone for libchat; Boost and Crypto++ come
# from the system, as the package's Depends bring them.
configure_args=(-G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo
                -DCMAKE_PREFIX_PATH="$root/usr" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
[[ -n "$ninja" ]] && configure_args+=(-DCMAKE_MAKE_PROGRAM="$ninja")
build=$tmp/build
if ! "$cmake" -S "$source_dir/test/consumer/find_package" -B "$build" "${configure_args[@]}" >"$tmp/configure.log" 2>&1; then
  fail "the consumer does not configure against libchat-dev: $(cat "$tmp/configure.log")"
  finish
fi
# It must have found the package's libchat, not one installed elsewhere on this machine.
found=$(sed -n 's/^libchat_DIR:PATH=//p' "$build/CMakeCache.txt")
[[ $found == "$root"/* ]] || fail "find_package(libchat) found $found, not the package in $root"
if ! "$cmake" --build "$build" >"$tmp/build.log" 2>&1; then
  fail "the consumer does not build against libchat-dev: $(cat "$tmp/build.log")"
  finish
fi
"$build/consumer" || fail "the consumer built against libchat-dev failed"

finish
