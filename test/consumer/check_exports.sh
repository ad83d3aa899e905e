#!/usr/bin/env bash
# Checks what a shared libchat exports (test/CMakeLists.txt, label "exports"):
#
#   check_exports.sh LIBCHAT_SO
#
# The library is built with hidden visibility, so only what the public headers mark
# LIBCHAT_EXPORT may be visible: never libchat::detail, an anonymous namespace, Crypto++ or
# Boost.JSON (private dependencies whose symbols would otherwise leak into every consumer and
# clash with the consumer's own copies). The public API must be there.
set -euo pipefail
lib=${1:?usage: $0 LIBCHAT_SO}

exported=$(nm -DC --defined-only "$lib")
leaked=$(grep -E 'libchat::detail|anonymous namespace|CryptoPP::|boost::json' <<<"$exported" || true)
if [[ -n $leaked ]]; then
  echo "exports: $lib exports internals:" >&2
  head -20 <<<"$leaked" >&2
  exit 1
fi
for api in 'libchat::room::admit(' 'libchat::server_exchange::' 'libchat::client_exchange::' \
  'libchat::decode_client_datagram(' 'libchat::system_random()' 'libchat::server_key::generate('; do
  grep -qF "$api" <<<"$exported" || { echo "exports: $lib does not export $api" >&2; exit 1; }
done
echo "exports: $(wc -l <<<"$exported") symbols, none internal"
