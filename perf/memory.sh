#!/usr/bin/env bash
# Memory per member and per room with 100,000 members, plaintext and encrypted.
#
#   perf/memory.sh [members] [build dir] [small] # default 100000 members, build-perf/
#
# With "small", the encrypted cases are rooms of 2 and 10 instead (the 1:1 rooms that dominate a
# real deployment, where the cost of a room weighs most), and the fit is between those two.
#
# One chat-server is started per case; several chat-bench processes attach to it (--connect), each
# below this machine's limit of open files, and hold their members joined with keepalives while
# the server's resident memory is sampled. Two room sizes with the same member count separate the
# cost of a room from the cost of a member:
#   RSS(rooms, members) ~ base + rooms * per_room + members * per_member.
# Prints one line per case and the fitted figures. Stops by itself (each chat-bench runs a bounded
# --duration; the servers are ended by PID).
set -euo pipefail
cd "$(dirname "$0")/.."

total=${1:-100000}
build=${2:-build-perf}
shape=${3:-default}
server=$build/server/chat-server
bench=$build/perf/chat-bench
[[ -x $server && -x $bench ]] || { echo "memory: build $server and $bench first (perf/run-all.sh does)" >&2; exit 2; }

# Members per chat-bench process: each member holds a UDP socket, and a few TCP sockets are in
# flight during set-up, so stay well under the open-files limit.
fd_limit=$(ulimit -n)
per_process=$(((fd_limit - 500) / 1000 * 1000))
((per_process > 20000)) && per_process=20000
tmp=$(mktemp -d)
server_pid=
bench_pids=()
cleanup() {
  for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# measure NAME ROOM_SIZE ENCRYPTED → appends "NAME rooms members rss_base_kib rss_full_kib" to
# $tmp/results (run in this shell, not a subshell, so that the EXIT trap sees the PIDs)
measure() {
  local name=$1 room_size=$2 encrypted=$3
  local rooms=$((total / room_size))
  local members=$((rooms * room_size))
  local args=(--bind 127.0.0.1 --port 0 --threads 2 --key-file "$tmp/key"
              --max-rooms $((rooms + 100)) --max-members "$room_size" --chat-rate 0 --join-rate 0
              --handshake-rate 0 --max-handshakes-per-ip 1000000 --max-rooms-per-ip 10000000
              --max-tokens-per-ip 100000000 --stats-interval 0)
  ((encrypted)) || args+=(--allow-plaintext)
  "$server" "${args[@]}" >"$tmp/$name.log" 2>&1 &
  server_pid=$!
  local port=
  for _ in $(seq 100); do
    port=$(grep -o 'tcp=127\.0\.0\.1:[0-9]*' "$tmp/$name.log" 2>/dev/null | head -1 | cut -d: -f2) || true
    [[ -n $port ]] && break
    sleep 0.1
  done
  [[ -n $port ]] || { cat "$tmp/$name.log" >&2; exit 1; }
  sleep 0.5
  local base
  base=$(rss_kib "$server_pid")

  # Whole rooms per process; the set-up takes ~0.1 ms (plaintext) to ~1 ms (encrypted, paced)
  # per member and process, so the hold time covers the slowest process's set-up with a margin.
  local rooms_per_process=$((per_process / room_size))
  local processes=$(((rooms + rooms_per_process - 1) / rooms_per_process))
  local hold=$((encrypted ? 60 + rooms_per_process * room_size / 1000 : 45))
  local target=chat-server
  ((encrypted)) && target=chat-server-enc
  bench_pids=()
  local left=$rooms
  for ((i = 0; i < processes; i++)); do
    local r=$((left < rooms_per_process ? left : rooms_per_process))
    left=$((left - r))
    # One loopback address per process: each has its own ~28k ephemeral ports.
    "$bench" --idle --connect "127.0.0.1:$port" --server-pid "$server_pid" --target "$target" \
      --source-ip "127.0.$((i + 1)).1" --rooms "$r" --members "$room_size" --duration "$hold" \
      >"$tmp/$name.bench$i.log" 2>&1 &
    bench_pids+=($!)
  done

  # Sample until every member has joined and the figure is steady, then a few seconds more.
  local peak=0 steady=0 joined=0
  for _ in $(seq "$hold"); do
    sleep 1
    kill -USR1 "$server_pid"
    sleep 0.2
    joined=$(grep -o ' members=[0-9]*' "$tmp/$name.log" | tail -1 | cut -d= -f2)
    local now
    now=$(rss_kib "$server_pid")
    ((now > peak)) && peak=$now
    if [[ ${joined:-0} -ge $members ]]; then
      steady=$((steady + 1))
      ((steady >= 5)) && break
    fi
    printf '\r  %s: %s/%s members, server RSS %s MiB   ' "$name" "${joined:-0}" "$members" $((now / 1024)) >&2
  done
  printf '\r' >&2
  if [[ ${joined:-0} -lt $members ]]; then
    echo "memory: only ${joined:-0} of $members members joined in $name; logs in $tmp" >&2
    for f in "$tmp/$name".bench*.log; do tail -3 "$f" >&2; done
    exit 1
  fi
  local full
  full=$(rss_kib "$server_pid")
  echo "$name $rooms $members $base $full" >>"$tmp/results"
  for p in "${bench_pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${bench_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  bench_pids=()
  kill -TERM "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

echo "chat-server memory with $total members ($per_process per chat-bench process; RSS from /proc)"
if [[ $shape == small ]]; then
  measure enc-2 2 1
  measure enc-10 10 1
else
  measure plain-10 10 0
  measure plain-100 100 0
  measure enc-10 10 1
  measure enc-100 100 1
fi
mapfile -t results <"$tmp/results"

printf '%-10s %8s %8s %10s %10s %14s\n' case rooms members "base MiB" "full MiB" "bytes/member"
for line in "${results[@]}"; do
  read -r name rooms members base full <<<"$line"
  printf '%-10s %8d %8d %10.1f %10.1f %14.0f\n' "$name" "$rooms" "$members" \
    "$(echo "$base / 1024" | bc -l)" "$(echo "$full / 1024" | bc -l)" "$(echo "($full - $base) * 1024 / $members" | bc -l)"
done
# Per room: the difference between the two room sizes, over the difference in room count.
fit() {
  read -r _ r1 m1 b1 f1 <<<"$1"
  read -r _ r2 m2 b2 f2 <<<"$2"
  local per_room per_member
  per_room=$(echo "(($f1 - $b1) - ($f2 - $b2)) * 1024 / ($r1 - $r2)" | bc -l)
  per_member=$(echo "(($f2 - $b2) * 1024 - $r2 * $per_room) / $m2" | bc -l)
  printf '%-10s per room %8.0f bytes, per member %8.0f bytes\n' "$3" "$per_room" "$per_member"
}
if [[ $shape == small ]]; then
  fit "${results[0]}" "${results[1]}" "encrypted, rooms of 2 and 10:"
else
  fit "${results[0]}" "${results[1]}" plaintext
  fit "${results[2]}" "${results[3]}" encrypted
fi
