#!/usr/bin/env bash
# test-compose.sh — `make test-compose`: week 6's stack for real. Builds the images, brings the
# week-6 profile of compose/compose.yaml up through podman (shared/scripts/compose.sh), runs the
# graded compose suite (weeks/06-docker/tests/compose_*.c) and the black-box suites of weeks 1-5
# against the containerised taskd, then removes the stack and its volumes.
#
# usage: test-compose.sh SUITE_BIN RESULTS_DIR API_BIN...
# The compose suite's results go to RESULTS_DIR/week-6/compose.json (the grader adds them to
# week 6); the weeks 1-5 suites' to $BUILD/compose-remote/ (not graded: their points are earned
# by the stages' own suites; here they must pass against the containers).
#
# Where podman cannot run here, it prints "compose checks not run: REASON" and the suite records
# every check as failed with that reason: never passed, never silently skipped.
set -uo pipefail
suite=$1 results=$2
shift 2
build=${BUILD:-build}
compose=(bash shared/scripts/compose.sh)
mkdir -p "$results/week-6"
json="$results/week-6/compose.json"
rm -f "$json"
# Every suite registers its users from 127.0.0.1 through the published port.
export REGISTER_IP_MAX_ATTEMPTS=1000000

reason=""
t0=$(date +%s)
out=$("${compose[@]}" check 2>&1)
case $? in
  0) ;;
  3) reason=$(echo "$out" | sed -n 's/^\(podman\|compose\): cannot run here: //p' | tail -1) ;;
  *) reason="compose check failed: $(echo "$out" | tail -1)" ;;
esac

if [ -z "$reason" ]; then
  # A stack left by an earlier run (killed half-way) is removed first, volumes and all.
  "${compose[@]}" down -v >/dev/null 2>&1
  "${compose[@]}" up 6 || reason="compose up failed (see above)"
fi
t1=$(date +%s)
if [ -z "$reason" ]; then
  # The build stage as an image of its own: the size a single-stage build would ship (the
  # suite reports it beside the runtime image's). Every layer is cached by now.
  bash shared/scripts/podman.sh podman build --quiet --pull=never --format docker \
    -f compose/Dockerfile --target build --build-arg BASE=localhost/taskd-base:bookworm \
    -t localhost/taskd:week6-build . >/dev/null || echo "test-compose: could not tag the build stage" >&2
fi
url=$("${compose[@]}" env 2>/dev/null | sed -n 's/^TASKD_URL=//p')

status=0
COMPOSE_NOT_RUN="$reason" TK_REMOTE_URL="${url:-http://127.0.0.1:1}" TK_AUTH=1 \
  TK_SUITE=week-6/compose TK_RESULTS="$json" timeout 1800 "$suite" --jobs=1 || status=1
t2=$(date +%s)

remote=0
if [ -z "$reason" ] && [ $# -gt 0 ]; then
  bash shared/scripts/remote-suites.sh "$url" week-6-compose "$build/compose-remote" "$@" || remote=1
fi
t3=$(date +%s)

if [ -z "$reason" ]; then
  if [ $status -ne 0 ] || [ $remote -ne 0 ]; then
    echo "test-compose: the stack's last logs:"
    "${compose[@]}" dc logs --no-color --tail=30 2>&1 | tail -120
  fi
  "${compose[@]}" down -v >/dev/null 2>&1 || echo "test-compose: compose down failed" >&2
else
  echo "compose checks not run: $reason"
fi
t4=$(date +%s)
echo "test-compose: images and up $((t1 - t0)) s, compose suite $((t2 - t1)) s, weeks 1-5 suites $((t3 - t2)) s, down $((t4 - t3)) s"
[ $status -eq 0 ] && [ $remote -eq 0 ]
