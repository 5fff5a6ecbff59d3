#!/usr/bin/env bash
# check.sh — grade one runbook scenario: is the server in the state of a fixed server?
#
# usage: check.sh SCENARIO
# Two views, both must pass: scenarios.sh check SCENARIO on the server (the unit, the files,
# the firewall, the processes: every problem left is one "still broken:" line), and from this
# machine GET /health through the server's public port 80 (SERVER_HTTP_PORT), the way a load
# balancer would ask. Exit status: 0 fixed, 1 not yet, 2 usage or no server.
set -euo pipefail
die() { echo "check: $*" >&2; exit "${2:-1}"; }
# shellcheck source=remote.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/remote.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

case ${1:-} in
  -h | --help) sed -n '/^# usage:/,/^# balancer/s/^# \{0,1\}//p' "$0"; exit 0 ;;
  "") die "usage: check.sh SCENARIO" 2 ;;
esac
[ $# -eq 1 ] || die "usage: check.sh SCENARIO" 2
bash "$RUNBOOK_DIR/scenarios.sh" list >"$tmp/names"
grep -qxF -- "$1" "$tmp/names" || die "unknown scenario '$1' (one of: $(tr '\n' ' ' <"$tmp/names"))" 2
server_load
rc=0
server_scenarios check "$1" || rc=1
code=000
for _ in 1 2 3 4 5; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:${SERVER_HTTP_PORT:?no SERVER_HTTP_PORT}/health" || true)
  [ "$code" = 200 ] && break
  sleep 1
done
if [ "$code" = 200 ]; then echo "ok: GET /health through port 80 answers 200"; else
  echo "still broken: GET /health through port 80 answers $code"; rc=1; fi
[ "$rc" = 0 ] && echo "check: $1 is fixed" || echo "check: $1 is not fixed yet"
exit "$rc"
