#!/usr/bin/env bash
# The chat-server and chat-client packages as an operator gets them: their control fields, and
# their files extracted with dpkg -x into a scratch root and run from there. ctest runs it
# (test/packaging/, label "package") after build_debs.sh:
#
#   check_programs.sh DEB_DIR VERSION
#
# Every failed check is reported; the exit status is 1 if any failed. The scratch root is
# removed on exit, and a server this script started is stopped by its PID.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 DEB_DIR VERSION" >&2
  exit 2
fi
deb_dir=$1 version=$2
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test/packaging/common.sh
source "$here/common.sh"

server_deb=$(one_deb chat-server) client_deb=$(one_deb chat-client)
root=$tmp/root
dpkg-deb -x "$server_deb" "$root"
dpkg-deb -x "$client_deb" "$root"
server=$root/usr/bin/chat-server client=$root/usr/bin/chat-client conf=$root/etc/chat-server/chat-server.conf
unit=$root/lib/systemd/system/chat-server.service

# --- What each package holds, and its control fields
server_files=$(dpkg-deb -c "$server_deb") client_files=$(dpkg-deb -c "$client_deb")
for path in usr/bin/chat-server etc/chat-server/chat-server.conf lib/systemd/system/chat-server.service \
            usr/share/man/man1/chat-server.1.gz usr/share/doc/chat-server/copyright; do
  grep -q " \./$path\$" <<<"$server_files" || fail "chat-server package lacks /$path"
done
for path in usr/bin/chat-client usr/share/man/man1/chat-client.1.gz usr/share/doc/chat-client/copyright; do
  grep -q " \./$path\$" <<<"$client_files" || fail "chat-client package lacks /$path"
done
grep -q "usr/bin/chat-client" <<<"$server_files" && fail "chat-server package holds chat-client"
grep -q "usr/bin/chat-server" <<<"$client_files" && fail "chat-client package holds chat-server"
# libc6 comes only from dpkg-shlibdeps: without it, Depends holds just what CPack was told.
check_field "$server_deb" Version "^$version-1\$"
check_field "$server_deb" Depends "libc6"
check_field "$server_deb" Depends "adduser"
check_field "$client_deb" Version "^$version-1\$"
check_field "$client_deb" Depends "libc6"
check_field "$client_deb" Depends "libncursesw6"
for deb in "$server_deb" "$client_deb"; do
  check_field "$deb" Maintainer ".+ <.+@.+>"
  check_field "$deb" Description ".+"
done

control=$tmp/control
dpkg-deb -e "$server_deb" "$control"
[[ "$(cat "$control/conffiles" 2>/dev/null)" == /etc/chat-server/chat-server.conf ]] ||
  fail "conffiles should list /etc/chat-server/chat-server.conf alone"
for script in postinst prerm postrm; do
  [[ -x $control/$script ]] || fail "chat-server's $script is missing or not executable"
  sh -n "$control/$script" || fail "chat-server's $script is not valid sh"
done
grep -q "adduser --system --group" "$control/postinst" || fail "postinst does not create the system user"

# --- The programs, the man pages
for program in chat-server chat-client; do
  "$root/usr/bin/$program" --help >"$tmp/$program.help" || fail "$program --help failed"
  grep -q "^Usage: $program" "$tmp/$program.help" || fail "$program --help has no Usage line"
  [[ "$("$root/usr/bin/$program" --version)" == "$program $version" ]] || fail "$program --version"
  page=$(zcat "$root/usr/share/man/man1/$program.1.gz" 2>/dev/null || true)
  grep -q "^\.TH ${program^^} \"1\"" <<<"$page" || fail "$program.1.gz is not a man page of $program"
  grep -q "$version" <<<"$page" || fail "$program.1.gz does not name version $version"
  if [[ $program == chat-server ]]; then server_page=$page; fi
done
grep -q 'key\\-file' <<<"$server_page" || fail "chat-server.1 lacks --key-file"
grep -q '^\.SH FILES' <<<"$server_page" || fail "chat-server.1 lacks its FILES section"

# --- The configuration file: every option of --help, commented out, with --help's default
options=$(grep -oE '^  (-h \[ )?--[a-z0-9-]+' "$tmp/chat-server.help" | sed 's/.*--//' | grep -vxE 'help|version|config')
[[ $(wc -l <<<"$options") -ge 30 ]] || fail "found too few options in chat-server --help"
for option in $options; do
  grep -q "^#$option = " "$conf" || fail "chat-server.conf lacks '#$option = '"
  default=$(grep -oE "^  --$option arg \(=[^)]*\)" "$tmp/chat-server.help" | sed 's/.*(=//; s/)$//' || true)
  # --threads and --hash-workers default to what this machine has, not a constant.
  if [[ -n $default && $option != threads && $option != hash-workers ]]; then
    grep -qxF "#$option = $default" "$conf" || fail "chat-server.conf: $option's default is $default"
  fi
done
# shellcheck disable=SC2013 # option names are single words
for option in $(sed -n 's/^#\([a-z][a-z0-9-]*\) = .*/\1/p' "$conf"); do
  grep -qx "$option" <<<"$options" || fail "chat-server.conf has '$option', which chat-server lacks"
done

# --- The server runs: with the file as shipped (what the unit does), then with every line
# uncommented (the sample's values parse and pass chat-server's range checks). Ports: free ones.
# All but the cluster's: they need a NATS server and its credentials (the "cluster" tests run them).
sed -E '/^#(cluster|cluster-[a-z-]+|node-name|node-timeout|advertise) = /d; s/^#([a-z][a-z0-9-]*) = /\1 = /' \
  "$conf" >"$tmp/all-options.conf"
run_server "$conf" shipped
fingerprint=$(grep -oE 'server key SHA256:[A-Za-z0-9+/]{43}' "$tmp/shipped.log" | sed 's/server key //' || true)
[[ -n $port && -z $fingerprint ]] && fail "chat-server's start-up log names no key fingerprint"
if [[ -n $port ]]; then
  # The installed client against the installed server: create a room; end of input leaves it.
  if timeout 15 "$client" --server "127.0.0.1:$port" --create package-test --name alice --json \
       --known-servers "$tmp/known_servers" </dev/null >"$tmp/client.out" 2>&1; then
    grep -q "$fingerprint" "$tmp/known_servers" 2>/dev/null || fail "chat-client did not pin the server's key"
  else
    fail "chat-client could not create a room on the installed chat-server: $(cat "$tmp/client.out")"
  fi
fi
stop_server shipped
[[ $(stat -c %a "$tmp/state-shipped/server.key" 2>/dev/null) == 600 ]] || fail "the key file is not mode 0600"
# Its next-key-file, as its key-file, lives under $tmp: the sample's /var/lib path is not ours to create.
run_server "$tmp/all-options.conf" all-options --udp-port 0 --lobby-port 0 --metrics-listen 127.0.0.1:0 \
  --next-key-file "$tmp/state-all-options/next.key"
grep -q 'next server key SHA256:' "$tmp/all-options.log" || [[ -z $port ]] ||
  fail "chat-server with next-key-file does not announce the next key at start-up"
# The installed server's metrics endpoint answers a scrape (bash's /dev/tcp: no curl needed).
metrics_port=$(grep -oE 'metrics=[0-9.]+:[0-9]+' "$tmp/all-options.log" | sed 's/.*://' || true)
if [[ -n $port ]]; then
  if [[ -z $metrics_port ]]; then
    fail "chat-server with metrics-listen names no metrics address in its start-up line"
  elif ! timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET /metrics HTTP/1.0\r\n\r\n" >&3 && cat <&3' \
         scrape "$metrics_port" >"$tmp/metrics.out" 2>&1 ||
       ! grep -q '^chat_datagrams_received_total ' "$tmp/metrics.out"; then
    fail "the installed chat-server's /metrics did not answer a scrape: $(head -c 300 "$tmp/metrics.out")"
  fi
fi
stop_server all-options

# --- The unit: its settings, then systemd's own checks on a copy that runs the extracted binary
for setting in User=chat-server Group=chat-server StateDirectory=chat-server Environment=XDG_STATE_HOME=/var/lib \
               "ExecStart=/usr/bin/chat-server --config /etc/chat-server/chat-server.conf" \
               NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
               ProtectKernelTunables=yes ProtectKernelModules=yes ProtectControlGroups=yes \
               "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" LockPersonality=yes MemoryDenyWriteExecute=yes \
               SystemCallFilter=@system-service CapabilityBoundingSet=; do
  grep -qxF "$setting" "$unit" || fail "chat-server.service lacks '$setting'"
done
grep -q '^ExecReload=' "$unit" && fail "chat-server.service has ExecReload=, but chat-server handles no SIGHUP"
mkdir -p "$tmp/unit"
sed "s|^ExecStart=/usr/bin/chat-server --config /etc/chat-server/chat-server.conf\$|ExecStart=$server --config $conf|" \
  "$unit" >"$tmp/unit/chat-server.service"
# systemd-analyze verify checks the syntax, the ExecStart binary and the dependencies; it does not
# look the User= up, so the missing chat-server user (made by postinst) does not matter here.
# --man=no: the man page is checked above, and man may not be installed.
if ! timeout 30 systemd-analyze verify --man=no "$tmp/unit/chat-server.service" >"$tmp/verify.log" 2>&1 ||
   [[ -s $tmp/verify.log ]]; then
  fail "systemd-analyze verify: $(cat "$tmp/verify.log")"
fi
# The hardening as systemd scores it (0 = locked down, 10 = exposed; this unit scores about 1.4).
if ! timeout 30 systemd-analyze security --offline=yes --threshold=20 "$tmp/unit/chat-server.service" \
       >"$tmp/security.log" 2>&1; then
  fail "systemd-analyze security: exposure above 2.0: $(tail -3 "$tmp/security.log")"
fi

finish
