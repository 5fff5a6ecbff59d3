#!/usr/bin/env bash
# test-server.sh — `make test-server`: boots the week-5 server, provisions it, runs the graded
# server suite (weeks/05-linux/tests/server_*.c) against it and removes it again.
#
# usage: test-server.sh SUITE_BIN RESULTS_DIR
# The suite's results go to RESULTS_DIR/week-5/server.json (the grader adds them to week 5).
# Until taskd is deployed on the server (make deploy-server), a probe (python3 -m http.server,
# started with systemd-run) listens on 8080, so the public port 80 has something to reach.
# SERVER_KEEP=1 leaves the server up afterwards (for a deploy suite, or to look around).
#
# Where podman cannot run here, it prints "server checks not run: REASON" and the suite records
# every check as failed with that reason: never passed, never silently skipped.
# --timeout=900: the kit's 60 s bound per test is too short for a second provisioning run on a
# loaded machine; every check bounds its own waits (SSH's ConnectTimeout, 3 s per closed port).
set -uo pipefail
suite=$1 results=$2
here=$(cd "$(dirname "$0")" && pwd)
server=(bash "$here/server.sh")
mkdir -p "$results/week-5"
json="$results/week-5/server.json"
rm -f "$json"

reason=""
t0=$(date +%s)
out=$(bash shared/scripts/podman.sh check 2>&1)
case $? in
  0) ;;
  3) reason=$(echo "$out" | sed -n 's/^podman: cannot run here: //p' | tail -1) ;;
  *) reason="podman check failed: $(echo "$out" | tail -1)" ;;
esac

up=0
if [ -z "$reason" ]; then
  # A server-up that failed half-way may leave its container: it is removed below all the same.
  up=1
  "${server[@]}" up || reason="make server-up failed (see above)"
fi
t1=$(date +%s)
if [ -z "$reason" ]; then
  log=$(mktemp)
  if "${server[@]}" provision >"$log" 2>&1; then
    grep -A2 'PLAY RECAP' "$log"
  else
    cat "$log"
    reason="provisioning failed (see above)"
  fi
  rm -f "$log"
fi
t2=$(date +%s)
if [ -z "$reason" ]; then
  # The probe, when nothing serves 8080 yet; stopped again below if we started it.
  "${server[@]}" ssh 'ss -Htln "sport = :8080" | grep -q . ||
    sudo systemd-run --quiet --unit=taskd-probe --property=User=nobody \
      --property=WorkingDirectory=/tmp python3 -m http.server --bind 0.0.0.0 8080' </dev/null
  for _ in $(seq 1 20); do
    "${server[@]}" ssh 'ss -Htln "sport = :8080" | grep -q .' </dev/null && break
    sleep 1
  done
fi

[ -n "$reason" ] && echo "server checks not run: $reason" >&2
SERVER_NOT_RUN="$reason" TK_SUITE=week-5/server TK_RESULTS="$json" \
  timeout "${SUITE_TIMEOUT_SECONDS:-1800}" "$suite" --jobs=1 --timeout=900
status=$?
t3=$(date +%s)

if [ "$up" = 1 ]; then
  [ -n "$reason" ] || "${server[@]}" ssh 'sudo systemctl stop taskd-probe 2>/dev/null || true' </dev/null
  if [ "${SERVER_KEEP:-0}" = 1 ]; then
    echo "server: kept up (SERVER_KEEP=1); make server-down removes it" >&2
  else
    "${server[@]}" down
  fi
fi
echo "test-server: server-up $((t1 - t0)) s, provisioning $((t2 - t1)) s, suite $((t3 - t2)) s," \
  "total $(($(date +%s) - t0)) s" >&2
exit $status
