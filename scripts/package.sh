#!/usr/bin/env bash
# Installs what is missing, builds chat-server, chat-client and libchat in build-package/, and
# makes the Debian packages there with CPack (docs/operations.md):
#   bash scripts/package.sh
#   apt install ./build-package/chat-server_*.deb
# LIBCHAT_PACKAGE_DIR picks another build folder.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --package
build_dir=${LIBCHAT_PACKAGE_DIR:-build-package}

# The prefix /usr, so that the library goes to Debian's multiarch directory
# (/usr/lib/x86_64-linux-gnu); RelWithDebInfo, as the test suite builds, with the binaries
# stripped in the packages. Tests and benchmarks are not part of any package.
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
  -DLIBCHAT_BUILD_TESTS=OFF -DLIBCHAT_BUILD_PERF=OFF >/dev/null
cmake --build "$build_dir" -j "$(nproc)"

rm -f "$build_dir"/*.deb
(cd "$build_dir" && cpack -G DEB >cpack.log 2>&1) || {
  cat "$build_dir/cpack.log" >&2
  exit 1
}

debs=()
for package in chat-server chat-client libchat-dev; do
  found=("$build_dir/$package"_*.deb)
  if [[ ! -f ${found[0]} ]]; then
    echo "package.sh: cpack made no $package package (see $build_dir/cpack.log)" >&2
    exit 1
  fi
  debs+=("${found[0]}")
done
echo "Debian packages (install with: apt install ./PATH):"
printf '  %s\n' "${debs[@]}"
