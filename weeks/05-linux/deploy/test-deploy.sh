#!/usr/bin/env bash
# test-deploy.sh — `make test-deploy`: runs week 5's deploy suite (weeks/05-linux/tests/deploy_*.c)
# with a server to deploy to.
#
# usage: test-deploy.sh SUITE_BIN RESULTS_DIR
#   (make passes DEPLOY_DIR, PACKAGE_DEB, BROKEN_DEB and SERVER_ENV in the environment)
# The results go to RESULTS_DIR/week-5/deploy.json (the grader adds them to week 5).
#
# The unit and package checks need no server. For the others: a server that is already up
# (make server-up) is used as it is, after a provisioning run (idempotent: a second run changes
# nothing); otherwise one is booted and provisioned with weeks/05-linux/server/server.sh and
# removed again at the end (SERVER_KEEP=1 keeps it). Where podman cannot run here, the server
# checks fail as "not run: no server: REASON": never passed, never silently skipped.
set -uo pipefail
suite=$1 results=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
server=(bash "$repo/weeks/05-linux/server/server.sh")
mkdir -p "$results/week-5"
json="$results/week-5/deploy.json"
rm -f "$json"

reason="" started=0
t0=$(date +%s)
out=$(bash "$repo/shared/scripts/podman.sh" check 2>&1)
case $? in
  0) ;;
  3) reason=$(echo "$out" | sed -n 's/^podman: cannot run here: //p' | tail -1) ;;
  *) reason="podman check failed: $(echo "$out" | tail -1)" ;;
esac
if [ -z "$reason" ]; then
  if [ -s "${SERVER_ENV:?}" ] && "${server[@]}" ssh true </dev/null 2>/dev/null; then
    echo "test-deploy: using the server that is up"
  else
    # A start that failed half-way may leave its container: it is removed below all the same.
    started=1
    "${server[@]}" up || reason="make server-up failed (see above)"
  fi
fi
if [ -z "$reason" ]; then
  log=$(mktemp)
  if "${server[@]}" provision >"$log" 2>&1; then
    grep -A2 'PLAY RECAP' "$log"
  else
    cat "$log"
    reason="make server-provision failed (see above)"
  fi
  rm -f "$log"
  # The server suite's stand-in for taskd on 8080 (test-server.sh), if one was left running.
  [ -n "$reason" ] || "${server[@]}" ssh 'sudo systemctl stop taskd-probe 2>/dev/null || true' </dev/null
fi
t1=$(date +%s)

[ -n "$reason" ] && echo "deploy checks on the server not run: $reason" >&2
DEPLOY_NOT_RUN="$reason" TK_SUITE=week-5/deploy TK_RESULTS="$json" \
  timeout "${SUITE_TIMEOUT_SECONDS:-1800}" "$suite" --jobs=1 --verbose
status=$?
t2=$(date +%s)
# Weeks 1–4's black-box suites against what the deploy suite left serving (REMOTE_SUITES: their
# binaries, from make): remote-suites.sh.
if [ -z "$reason" ] && [ -n "${REMOTE_SUITES:-}" ]; then
  # shellcheck disable=SC2086 # a list of paths without spaces, one word each
  bash "$here/remote-suites.sh" "$SERVER_ENV" "$(dirname "$results")/deployed" $REMOTE_SUITES || status=1
elif [ -n "${REMOTE_SUITES:-}" ]; then
  echo "remote-suites: not run: no server: $reason" >&2
  status=1
fi
t3=$(date +%s)

if [ "$started" = 1 ]; then
  if [ "${SERVER_KEEP:-0}" = 1 ]; then
    echo "server: kept up (SERVER_KEEP=1); make server-down removes it" >&2
  else
    "${server[@]}" down
  fi
fi
echo "test-deploy: server ready $((t1 - t0)) s, suite $((t2 - t1)) s, weeks 1–4 against the deployed service $((t3 - t2)) s, total $(($(date +%s) - t0)) s" >&2
exit $status
