#!/usr/bin/env bash
# openapi-proxy.sh — a validating proxy in front of one taskd server, for the test kit's TK_PROXY.
#
# usage: openapi-proxy.sh UPSTREAM_URL
# Fetches the document the server itself serves (UPSTREAM_URL/openapi.json: the stage's own
# operations), starts Stoplight Prism in proxy mode (shared/npm, installed by install-deps.sh) on
# a free loopback port, waits until it answers, prints "proxy-url http://127.0.0.1:PORT" and runs
# until SIGTERM. Prism forwards every request unchanged and lists in the sl-violations header
# where the exchange breaks the document; the kit fails a test on an answer the document does not
# describe. Prism's own log goes to $OPENAPI_PROXY_LOGS/prism-<pid>.log when that is set (make
# test-openapi-proxy counts the violations there), else to stdout.
set -euo pipefail
upstream=${1:?usage: openapi-proxy.sh UPSTREAM_URL}
here=$(cd "$(dirname "$0")/../.." && pwd)
prism="$here/shared/npm/node_modules/.bin/prism"
[ -x "$prism" ] || { echo "openapi-proxy: $prism is missing: run make deps (it needs the npm registry)" >&2; exit 1; }

work=$(mktemp -d /tmp/openapi-proxy-XXXXXX)
pid=""
stop() { [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap stop EXIT
trap 'exit 0' TERM INT
curl -sf "$upstream/openapi.json" -o "$work/openapi.json" || { echo "openapi-proxy: no $upstream/openapi.json" >&2; exit 1; }

log=/dev/stdout
if [ -n "${OPENAPI_PROXY_LOGS:-}" ]; then mkdir -p "$OPENAPI_PROXY_LOGS"; log="$OPENAPI_PROXY_LOGS/prism-$$.log"; fi
# A port that nothing answers on may still be taken (a client's local port, another Prism that
# has not started yet): when Prism exits before it answers, try another one.
port=""
for _ in 1 2 3 4 5; do
  candidate=$((10000 + RANDOM % 20000)) # below Linux's ephemeral ports (32768 on)
  if (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then continue; fi
  "$prism" proxy "$work/openapi.json" "$upstream" --host 127.0.0.1 --port "$candidate" >>"$log" 2>&1 &
  pid=$!
  until curl -s -o /dev/null "http://127.0.0.1:$candidate/health"; do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then port=$candidate; break; fi
  wait "$pid" 2>/dev/null || true
  pid=""
done
[ -n "$port" ] || { echo "openapi-proxy: prism did not start (see $log)" >&2; exit 1; }
echo "proxy-url http://127.0.0.1:$port"
wait "$pid"
