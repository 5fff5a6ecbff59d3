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

# A free port: one that nothing answers on (a race with another process is possible but then
# Prism exits and the kit says so).
port=""
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % 20000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
done
[ -n "$port" ] || { echo "openapi-proxy: no free port" >&2; exit 1; }

log=/dev/stdout
if [ -n "${OPENAPI_PROXY_LOGS:-}" ]; then mkdir -p "$OPENAPI_PROXY_LOGS"; log="$OPENAPI_PROXY_LOGS/prism-$$.log"; fi
"$prism" proxy "$work/openapi.json" "$upstream" --host 127.0.0.1 --port "$port" >>"$log" 2>&1 &
pid=$!
until curl -s -o /dev/null "http://127.0.0.1:$port/health"; do
  kill -0 "$pid" 2>/dev/null || { echo "openapi-proxy: prism exited (see $log)" >&2; exit 1; }
  sleep 0.2
done
echo "proxy-url http://127.0.0.1:$port"
wait "$pid"
