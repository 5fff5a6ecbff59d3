#!/usr/bin/env bash
# test-bluegreen.sh — `make test-bluegreen`: week 8's blue/green deploy and rollback on the week-5
# server, for real, with a load running throughout that must see zero failed requests.
#
# usage: test-bluegreen.sh LOADCHECK STAGE_DIR PACKAGE.deb BROKEN.deb BROKEN_WORKER.deb
#   STAGE_DIR: the build of the packaged stage (the newer release is built from it)
#   (make passes SERVER_ENV in the environment)
# The steps, each checked:
#   1. deploy the release to slot blue, taking over from week 5's taskd.service;
#   2. deploy a newer release (the same build, another version) to green;
#   3. make rollback: back to blue, timed;
#   4. deploy a release whose taskd never becomes ready: refused, blue keeps serving;
#   5. deploy a release whose worker is broken: ready, smoke-tested, switched to, its job smoke
#      test fails, switched back automatically;
#   and throughout, loadcheck asks GET /ready through the public port, a new connection each
#   time (so each request is routed afresh): not one may fail, and both slots must have served.
# A server that is up is used (after test-deploy: provisioned, the package deployed); otherwise
# one is booted, provisioned and the package deployed with week 5's deploy, then removed at the
# end (SERVER_KEEP=1 keeps it). Where podman cannot run, the checks fail with the reason.
# Prints one line per check and a summary, and grades them (shared/scripts/checks.sh:
# build/results/week-8/bluegreen.json, 14 checks, 22 points); exit status 1 when any check failed.
set -uo pipefail
loadcheck=$1 stage=$2 deb=$3 broken=$4 broken_worker=$5
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
server=(bash "$repo/weeks/05-linux/server/server.sh")
bluegreen=(bash "$here/bluegreen.sh" --server-env "${SERVER_ENV:?}")
scratch=$(mktemp -d)
started=0 load="" note=""
# shellcheck source=shared/scripts/checks.sh
. "$repo/shared/scripts/checks.sh"
checks_begin week-8 bluegreen \
  server::a_server_with_the_package_deployed:1 \
  deploy::the_first_release_goes_to_blue:2 deploy::blue_is_live_after_the_first_deploy:1 \
  deploy::a_newer_release_goes_to_green:2 deploy::green_is_live_after_the_second_deploy:1 \
  rollback::make_rollback_returns_to_blue:2 rollback::blue_is_live_again:1 \
  refuse::a_release_that_never_becomes_ready_is_refused:2 refuse::blue_kept_serving:1 \
  refuse::a_release_whose_job_smoke_test_fails_is_switched_back:2 refuse::blue_serves_again:1 \
  load::zero_failed_requests_throughout:4 load::blue_served_some_of_the_load:1 \
  load::green_served_some_of_the_load:1
finish() {
  local status
  [ -z "$load" ] || { touch "$scratch/stop"; wait "$load" 2>/dev/null; }
  checks_end "$note"
  status=$?
  if [ "$started" = 1 ] && [ "${SERVER_KEEP:-0}" != 1 ]; then "${server[@]}" down; fi
  rm -rf "$scratch"
  exit "$status"
}
trap finish EXIT

# ---- a server with the package deployed ----
reason=""
out=$(bash "$repo/shared/scripts/podman.sh" check 2>&1)
case $? in
  0) ;;
  3) reason=$(echo "$out" | sed -n 's/^podman: cannot run here: //p' | tail -1) ;;
  *) reason="podman check failed: $(echo "$out" | tail -1)" ;;
esac
if [ -z "$reason" ] && ! { [ -s "$SERVER_ENV" ] && "${server[@]}" ssh true </dev/null 2>/dev/null; }; then
  started=1
  { "${server[@]}" up && "${server[@]}" provision >"$scratch/provision.log" 2>&1 &&
    bash "$repo/weeks/05-linux/deploy/deploy.sh" --server-env "$SERVER_ENV" "$deb"; } ||
    { tail -n 30 "$scratch/provision.log" 2>/dev/null; reason="the server did not come up with the package deployed (see above)"; }
fi
if [ -n "$reason" ]; then
  check_bad server::a_server_with_the_package_deployed "blue/green checks not run: no server: $reason"
  exit 1
fi
check_ok server::a_server_with_the_package_deployed "the week-5 server runs the package"
# shellcheck disable=SC1090 # written by server.sh up
. "$SERVER_ENV"
public="http://127.0.0.1:$SERVER_HTTP_PORT"

# The newer release: the same build under a newer version, so the two slots differ.
v1=$(dpkg-deb -f "$deb" Version)
mkdir -p "$scratch/next"
PACKAGE_VERSION="$v1+next" bash "$repo/weeks/05-linux/deploy/build-deb.sh" "$stage" "$scratch/next" >"$scratch/next.log" 2>&1 ||
  { cat "$scratch/next.log"; exit 1; }
next=$(find "$scratch/next" -name '*.deb' | head -1)

# deploy_step NAME WHAT EXPECTED_RESULT ARGS...: run bluegreen.sh ARGS, check the result= it reports.
deploy_step() {
  local name=$1 what=$2 want=$3 out
  shift 3
  out=$("${bluegreen[@]}" "$@" 2>&1)
  RESULT_LINE=$(grep -E '^slots: result=' <<<"$out" | tail -1)
  if [[ $RESULT_LINE == "slots: result=$want "* ]]; then
    check_ok "$name" "$what ($RESULT_LINE)"
  else
    check_bad "$name" "$what: expected result=$want" "$out"
  fi
}
live() { "${bluegreen[@]}" status 2>/dev/null | sed -nE 's/^([a-z]+) .*<- live.*/\1/p'; }
# expect_live NAME SLOT WHAT: the server says SLOT is live.
expect_live() {
  if [ "$(live)" = "$2" ]; then check_ok "$1" "$3"; else check_bad "$1" "$3" "$("${bluegreen[@]}" status 2>&1)"; fi
}

since=$(date +%s)
echo "test-bluegreen: load on $public/ready throughout (new connection per request)"
"$loadcheck" "$public/ready" --clients 4 --rate 100 --seconds 900 --stop-file "$scratch/stop" >"$scratch/load.out" 2>&1 &
load=$!
sleep 2

deploy_step deploy::the_first_release_goes_to_blue "1. the release goes to slot blue, taking over from taskd.service" deployed deploy "$deb"
expect_live deploy::blue_is_live_after_the_first_deploy blue "   blue is live"
deploy_step deploy::a_newer_release_goes_to_green "2. a newer release goes to slot green; blue keeps running" deployed deploy "$next"
expect_live deploy::green_is_live_after_the_second_deploy green "   green is live"
t=$(date +%s%N)
deploy_step rollback::make_rollback_returns_to_blue "3. make rollback returns to blue" rolled-back rollback
rollback_ms=$((($(date +%s%N) - t) / 1000000))
expect_live rollback::blue_is_live_again blue "   blue is live again, in $rollback_ms ms"
deploy_step refuse::a_release_that_never_becomes_ready_is_refused "4. a release that never becomes ready is refused" not-ready deploy "$broken"
expect_live refuse::blue_kept_serving blue "   blue kept serving"
deploy_step refuse::a_release_whose_job_smoke_test_fails_is_switched_back "5. a release whose job smoke test fails is switched back automatically" smoke-failed deploy "$broken_worker"
expect_live refuse::blue_serves_again blue "   blue serves again"

touch "$scratch/stop"
wait "$load"
load_status=$?
load=""
summary=$(head -1 "$scratch/load.out")
requests=$(sed -nE 's/^loadcheck: ([0-9]+) requests.*/\1/p' "$scratch/load.out")
if [ "$load_status" = 0 ] && [ "${requests:-0}" -ge 500 ]; then
  check_ok load::zero_failed_requests_throughout "zero failed requests throughout: $summary"
else
  check_bad load::zero_failed_requests_throughout "zero failed requests throughout (and at least 500 made)" "$(cat "$scratch/load.out")"
fi
# Both slots answered the load: the switches moved real traffic, not only a rule.
for slot in blue green; do
  n=$("${server[@]}" ssh "sudo journalctl -u taskd@$slot.service --since @$since -o cat --no-pager | grep -c '\"path\":\"/ready\"'" </dev/null 2>/dev/null)
  if [ "${n:-0}" -gt 0 ]; then
    check_ok "load::${slot}_served_some_of_the_load" "slot $slot served $n of the load's requests"
  else
    check_bad "load::${slot}_served_some_of_the_load" "slot $slot served some of the load's requests (its journal has none)"
  fi
done

note="rollback $rollback_ms ms; $summary" # checks_end (the EXIT trap) prints it with the summary
