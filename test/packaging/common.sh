# shellcheck shell=bash
# Sourced by the package tests beside it. Expects deb_dir (and server, for run_server). Gives a
# scratch directory $tmp (removed on exit), fail/finish for reporting, and helpers for .debs and
# for one chat-server at a time.

tmp=$(mktemp -d "${TMPDIR:-/tmp}/libchat-package.XXXXXX")
server_pid=
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
fail() {
  echo "package: FAILED: $*" >&2
  failures=$((failures + 1))
}
finish() {
  if ((failures)); then
    echo "package: $failures check(s) failed" >&2
    exit 1
  fi
  echo "package: all checks passed"
}

# The one NAME_*.deb in deb_dir; a missing package ends the test at once.
one_deb() {
  local debs=("$deb_dir/$1"_*.deb)
  if [[ ${#debs[@]} -ne 1 || ! -f ${debs[0]} ]]; then
    echo "package: FAILED: expected one $1_*.deb in $deb_dir (did 'package: build the .debs' pass?)" >&2
    exit 1
  fi
  echo "${debs[0]}"
}

# check_field DEB FIELD REGEX: the control field matches the extended regular expression.
check_field() {
  local value
  value=$(dpkg-deb -f "$1" "$2")
  grep -qE -- "$3" <<<"$value" || fail "$(basename "$1"): $2 is '$value', expected to match '$3'"
}

# run_server CONF NAME [ARGS...]: starts $server with CONF on free loopback ports, its key and
# log in $tmp, and waits (10 s at most) for the start-up line that ends with the accepted
# handshakes. Sets server_pid and port (empty when it did not start).
run_server() {
  local conf=$1 name=$2
  shift 2
  port=
  "${server:?}" --config "$conf" --bind 127.0.0.1 --port 0 --key-file "$tmp/state-$name/server.key" \
    --stats-interval 0 "$@" 2>"$tmp/$name.log" &
  server_pid=$!
  local i
  for ((i = 0; i < 100; i++)); do
    if grep -q '; accepting ' "$tmp/$name.log"; then
      port=$(grep -oE 'listening tcp=[^ ]+:[0-9]+' "$tmp/$name.log" | sed 's/.*://')
      echo "package: chat-server ($name) started, pid $server_pid, tcp port $port"
      return 0
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  fail "chat-server ($name) did not start: $(cat "$tmp/$name.log")"
}

# stop_server NAME: SIGTERM to server_pid, then up to 10 s for a clean exit (status 0).
stop_server() {
  local name=$1 i status=0
  [[ -n $server_pid ]] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
    fail "chat-server ($name) did not stop within 10 s of SIGTERM"
  fi
  wait "$server_pid" || status=$?
  server_pid=
  ((status == 0)) || fail "chat-server ($name) exited with status $status: $(cat "$tmp/$name.log")"
  echo "package: chat-server ($name) stopped by SIGTERM, exit status $status"
  grep -q 'SIGTERM received' "$tmp/$name.log" || fail "chat-server ($name) did not log the SIGTERM"
}
