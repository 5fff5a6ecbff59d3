#!/usr/bin/env bash
# checks.sh — the checks of a suite written in bash, printed for people and graded like a
# Criterion suite. Sourced (not run) by the suites that drive whole machines from the shell:
# week 8's release, blue/green and auto-update suites.
#
# A suite declares its plan first: every check it can make, with its name (GROUP::name, as the
# grade table names tests) and its points. It then reports each check as it makes it, and at the
# end (checks_end, from its EXIT trap, so that an early exit is graded too) every planned check it
# never reported counts as failed, "not run". So a step that breaks early cannot shrink the
# suite's total: the grade is out of the whole plan, every time.
#
#   checks_begin TARGET SUITE NAME:POINTS...   start (TARGET week-8, SUITE release)
#   check_ok NAME TEXT                         NAME passed; TEXT is what people read
#   check_bad NAME TEXT [OUTPUT]               NAME failed; the last lines of OUTPUT are shown
#   checks_end [NOTE]                          the summary line (NOTE after it); writes
#                                              RESULTS/TARGET/SUITE.json; status 1 when one failed
# RESULTS is $CHECKS_RESULTS, else $BUILD/results (build/results); CHECKS_RESULTS=none writes no
# file (a suite run by hand, outside make test). The file has tk_main.c's format (shared/tools/
# grade.c reads both): suite, stage, points, max_points, passed, failed, and every test with its
# name, points, passed, seconds (since the previous check) and, when it failed, a message.
# shellcheck shell=bash

checks_begin() {
  CHECKS_TARGET=$1 CHECKS_SUITE=$2
  shift 2
  CHECKS_PLAN=("$@")
  CHECKS_DONE=() CHECKS_PASSED=0 CHECKS_FAILED=0
  CHECKS_LOG=$(mktemp)
  CHECKS_LAST=$(date +%s%N)
  local entry
  for entry in "${CHECKS_PLAN[@]}"; do
    [[ $entry =~ ^[a-z0-9_]+::[a-z0-9_]+:[0-9]+$ ]] ||
      { echo "checks: bad plan entry '$entry' (want group::name:points)" >&2; return 2; }
  done
}

# The points of planned check NAME (the suite stops with a message when NAME is not planned: a
# check outside the plan would change the total behind the grade's back).
checks_points() {
  local entry
  for entry in "${CHECKS_PLAN[@]}"; do
    [ "${entry%:*}" != "$1" ] || { echo "${entry##*:}"; return 0; }
  done
  echo "checks: '$1' is not in the plan of $CHECKS_SUITE" >&2
  exit 2
}

checks_record() { # NAME PASSED(true|false) MESSAGE
  local points now
  points=$(checks_points "$1") || exit 2
  now=$(date +%s%N)
  jq -nc --arg n "$1" --argjson p "$points" --argjson ok "$2" --arg m "$3" \
    --argjson s "$(((now - CHECKS_LAST) / 1000000))" \
    '{name: $n, points: $p, passed: $ok, seconds: ($s / 1000)} + (if $ok then {} else {message: $m} end)' \
    >>"$CHECKS_LOG"
  CHECKS_LAST=$now
  CHECKS_DONE+=("$1")
}

check_ok() {
  echo "  ok    $2"
  checks_record "$1" true ""
  CHECKS_PASSED=$((CHECKS_PASSED + 1))
}

check_bad() {
  echo "  FAIL  $2"
  [ -z "${3:-}" ] || printf '%s\n' "$3" | tail -n 20 | sed 's/^/        /'
  checks_record "$1" false "$2${3:+: $(printf '%s' "$3" | tail -n 5)}"
  CHECKS_FAILED=$((CHECKS_FAILED + 1))
}

checks_end() {
  local entry name done_name seen
  for entry in "${CHECKS_PLAN[@]}"; do
    name=${entry%:*} seen=0
    for done_name in "${CHECKS_DONE[@]}"; do [ "$done_name" != "$name" ] || seen=1; done
    [ "$seen" = 1 ] || check_bad "$name" "$name: not run (an earlier step failed, see above)"
  done
  local results=${CHECKS_RESULTS:-${BUILD:-build}/results}
  if [ "$results" != none ]; then
    mkdir -p "$results/$CHECKS_TARGET"
    jq -s --arg suite "$CHECKS_TARGET/$CHECKS_SUITE" '{suite: $suite, stage: "",
        points: (map(select(.passed) | .points) | add // 0), max_points: (map(.points) | add // 0),
        passed: (map(select(.passed)) | length), failed: (map(select(.passed | not)) | length),
        tests: .}' "$CHECKS_LOG" >"$results/$CHECKS_TARGET/$CHECKS_SUITE.json.tmp" &&
      mv "$results/$CHECKS_TARGET/$CHECKS_SUITE.json.tmp" "$results/$CHECKS_TARGET/$CHECKS_SUITE.json"
  fi
  local points max
  points=$(jq -s 'map(select(.passed) | .points) | add // 0' "$CHECKS_LOG")
  max=$(jq -s 'map(.points) | add // 0' "$CHECKS_LOG")
  rm -f "$CHECKS_LOG"
  echo "test-$CHECKS_SUITE: $CHECKS_PASSED passed, $CHECKS_FAILED failed, $points/$max points${1:+ ($1)}"
  [ "$CHECKS_FAILED" -eq 0 ]
}
