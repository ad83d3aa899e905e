#!/usr/bin/env bash
# Builds and runs one of the consumer projects beside this script, the way an outside project
# would use libchat. ctest runs it (test/CMakeLists.txt, label "consumer"):
#
#   run_consumer_test.sh find_package     SOURCE_DIR BINARY_DIR CMAKE CXX CONFIG [NINJA]
#   run_consumer_test.sh add_subdirectory SOURCE_DIR BINARY_DIR CMAKE CXX CONFIG [NINJA]
#
# find_package installs the libchat components of BINARY_DIR (already built) into a temporary
# prefix and builds find_package/ against it; add_subdirectory builds add_subdirectory/ with
# libchat's SOURCE_DIR as a subproject. CXX is the compiler the outer build used, CONFIG its
# configuration (may be empty), NINJA the ninja program (optional; else ninja from PATH).
# Everything happens in a temporary directory that is removed on exit, pass or fail.
set -euo pipefail

if [[ $# -lt 6 ]]; then
  echo "usage: $0 find_package|add_subdirectory SOURCE_DIR BINARY_DIR CMAKE CXX CONFIG [NINJA]" >&2
  exit 2
fi
mode=$1 source_dir=$2 binary_dir=$3 cmake=$4 cxx=$5 config=$6 ninja=${7:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/libchat-consumer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

configure_args=(-G Ninja -DCMAKE_CXX_COMPILER="$cxx")
[[ -n "$ninja" ]] && configure_args+=(-DCMAKE_MAKE_PROGRAM="$ninja")

case "$mode" in
  find_package)
    prefix=$tmp/prefix
    install_args=(--prefix "$prefix")
    [[ -n "$config" ]] && install_args+=(--config "$config")
    # The library's two components only; chat-server and the client are not installed.
    "$cmake" --install "$binary_dir" "${install_args[@]}" --component libchat_Runtime
    "$cmake" --install "$binary_dir" "${install_args[@]}" --component libchat_Development
    if [[ -e "$prefix/bin" ]]; then
      echo "consumer: the libchat components installed programs:" >&2
      ls -l "$prefix/bin" >&2
      exit 1
    fi
    configure_args+=(-DCMAKE_PREFIX_PATH="$prefix")
    [[ -n "$config" ]] && configure_args+=(-DCMAKE_BUILD_TYPE="$config")
    ;;
  add_subdirectory)
    # No build type: the parent's empty CMAKE_BUILD_TYPE must survive add_subdirectory, and an
    # unoptimised build of the library is the quickest.
    configure_args+=(-DLIBCHAT_SOURCE_DIR="$source_dir")
    ;;
  *)
    echo "consumer: unknown mode '$mode'" >&2
    exit 2
    ;;
esac

"$cmake" -S "$source_dir/test/consumer/$mode" -B "$tmp/build" "${configure_args[@]}"
"$cmake" --build "$tmp/build"
"$tmp/build/consumer"
