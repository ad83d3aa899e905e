#!/usr/bin/env bash
# Installs the Debian 12 packages libchat needs to build and test. Idempotent: packages already
# present are skipped, so a second run costs one dpkg query.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
  libcrypto++-dev catch2 libspdlog-dev libncurses-dev
  libnats-dev
)
# scripts/package.sh, and the tests labelled "package": help2man writes the man pages from
# --help, dpkg-dev (dpkg-shlibdeps) and file let CPack compute the .debs' Depends, and systemd
# brings systemd-analyze, which checks the unit.
package_tools=(help2man dpkg-dev file systemd)
# perf/plot.py draws docs/performance.md's plots from chat-bench's JSON with gnuplot (SVG, no X).
plot_tools=(gnuplot-nox python3)
for flag in "$@"; do
  case $flag in
    --test)
      # The test suite drives the terminal client through tmux; the desktop client's UI tests
      # (desktop/) drive Debian's Chromium headless through playwright-core; ctest's package
      # tests build the .debs; the perf smoke test draws its plots.
      # The tests labelled "cluster" start their own nats-server (JetStream) on loopback, one of
      # them behind TLS with certificates made by openssl.
      packages+=(tmux chromium nats-server openssl "${package_tools[@]}" "${plot_tools[@]}")
      ;;
    --fuzz)
      # fuzz/smoke.sh: clang-14 with libFuzzer and the sanitizer runtimes (libclang-rt-14-dev is
      # only a Recommends of clang-14, which --no-install-recommends skips), and llvm-14 for
      # llvm-symbolizer (readable stack traces in findings).
      packages+=(clang-14 libclang-rt-14-dev llvm-14)
      ;;
    --cluster)
      # scripts/run-cluster.sh: a NATS server with JetStream for the nodes' room directory.
      packages+=(nats-server)
      ;;
    --package)
      packages+=("${package_tools[@]}")
      ;;
    --perf)
      # perf/: chat-bench --mqtt compares with the Mosquitto broker, driven through libmosquitto.
      packages+=(mosquitto libmosquitto-dev "${plot_tools[@]}")
      ;;
    *)
      echo "install-deps.sh: ignoring unknown flag $flag" >&2
      ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
