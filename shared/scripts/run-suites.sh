#!/usr/bin/env bash
# run-suites.sh — grades one target (a stage or a lab) with its suites and prints its score.
#
# usage: run-suites.sh TARGET RESULTS_DIR STAGE_BIN UNIT_BIN [API_BIN...]
# The unit suite links the target's own modules; each black-box API_BIN (week 1's, week 2's...)
# runs against STAGE_BIN. Every suite writes RESULTS_DIR/TARGET/<suite>.json; the grade tool
# sums them.
#
# QUIET=1 sends the suites' own output (Criterion's report, server logs) to RESULTS_DIR/TARGET.log
# and prints one progress line per suite instead; `make lab-N` runs so unless V=1 (issue 10,
# item 8). With LAB_WEEK_DIR set as well (the week of a lab), the failures are then shown grouped
# by exercise, in exercise order (shared/scripts/exercises.sh report), the score, the exercise to
# do next and which services are still running.
set -uo pipefail
target=$1 results=$2 stage=$3 unit=$4
shift 4
here=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "${results:?}/$target"
mkdir -p "$results/$target"
quiet=${QUIET:-0}
log=/dev/stderr
if [ "$quiet" = 1 ]; then log="$results/$target.log"; : > "$log"; fi

# Every suite has a hard time limit, so a hung test can never hang CI (Criterion also stops any
# single test after 60 s).
limit=${SUITE_TIMEOUT_SECONDS:-900}
status=0
# Test databases (week 2 on) are tagged with this run and dropped after each suite; their
# servers are gone by then, and another run's databases are left alone.
export TASKD_TEST_RUN="r$$"
prune() { if [ -n "${TK_FRESH_DB_CMD:-}" ]; then bash "$here/shared/scripts/services.sh" prune-test-dbs >/dev/null 2>&1 || true; fi; }

# progress NAME JSON: the suite's line in quiet mode, from the results it wrote.
progress() {
  local line
  if line=$(jq -r '"\(.points)/\(.max_points) points, \(.passed) passed, \(.failed) failed"' "$2" 2>/dev/null); then
    printf '  %-28s %s\n' "$1" "$line"
  else
    printf '  %-28s no results: it crashed or timed out (see %s)\n' "$1" "$log"
  fi
}

# ONLY_TESTS=FILE (lab-check.sh's second run) grades only the tests FILE lists, one
# "SUITE<tab>suite/test" line each (SUITE: unit, api-week-N, as exercises.sh orphans prints
# them); a suite with none listed is not run. The test kit does the selection (TK_ONLY).
only=${ONLY_TESTS:-}
# selects SUITE: 0 when SUITE is to run, with TK_ONLY exported for it when there is a list.
selects() {
  unset TK_ONLY
  [ -n "$only" ] || return 0
  awk -F'\t' -v s="$1" '$1 == s { print $2 }' "$only" >"$results/$target/$1.only"
  [ -s "$results/$target/$1.only" ] || return 1
  export TK_ONLY="$results/$target/$1.only"
}

[ "$quiet" = 1 ] && echo "Grading $target (the suites' full output: $log; V=1 shows it here)"
if selects unit; then
  [ "$quiet" = 1 ] || echo "== $target: unit tests ($unit)"
  TK_SUITE="$target/unit" TK_RESULTS="$results/$target/unit.json" timeout "$limit" "$unit" --jobs=2 >>"$log" 2>&1 || status=1
  [ "$quiet" = 1 ] && progress "unit tests" "$results/$target/unit.json"
  prune
fi
for api in "$@"; do
  suite="api-$(basename "$(dirname "$(dirname "$api")")")"
  selects "$suite" || continue
  [ "$quiet" = 1 ] || echo "== $target: black-box suite $suite against $stage"
  TASKD_BIN="$stage" TK_SUITE="$target/$suite" TK_RESULTS="$results/$target/$suite.json" \
    timeout "$limit" "$api" --jobs=2 >>"$log" 2>&1 || status=1
  [ "$quiet" = 1 ] && progress "black-box $suite" "$results/$target/$suite.json"
  prune
done

week=${LAB_WEEK_DIR:-}
ex="$here/shared/scripts/exercises.sh"
if [ "$quiet" = 1 ] && [ -n "$week" ]; then
  if [ -n "$(bash "$ex" list "$week")" ]; then
    bash "$ex" report "$week" "$results/$target"
  else
    # No exercise data for this week yet: the failures by suite, a few each.
    for f in "$results/$target"/unit.json "$results/$target"/api-*.json; do
      jq -r --arg s "$(basename "$f" .json)" '[.tests[] | select(.passed | not)] |
        if length > 0 then "\n\($s): \(length) failing", (.[:5][] | "  FAIL \(.name) (\(.points) pt\(if .points == 1 then "" else "s" end)): \(.message // "failed")"),
          (if length > 5 then "  ... and \(length - 5) more" else empty end) else empty end' "$f" 2>/dev/null
    done
  fi
  echo
fi
"$here/${BUILD:-build}/tools/grade" "$results" "$results/$target.grade.json" --only "$target"

if [ "$quiet" = 1 ] && [ -n "$week" ]; then
  n=$(basename "$week"); n=$((10#${n%%-*}))
  next=$(bash "$ex" status "$week" "$results/$target" | awk -F'\t' '$3 == "todo" { print $1 " — " $2; exit }')
  if [ -n "$next" ]; then
    echo "Next: exercise $next (make hint-$n for a hint)"
  elif [ $status -eq 0 ]; then
    echo "Every test passes: lab $n is done. Compare with the reference: labs/$(basename "$week")/README.md, 'When you are done'."
  else
    echo "Next: the first failure above (the full output: $log)"
  fi
  running=$(bash "$here/shared/scripts/services.sh" status 2>/dev/null | awk -F: '$2 ~ /^ running/ { printf "%s%s", sep, $1; sep = ", " }')
  if [ -n "$running" ]; then
    echo "Still running for your next run: $running. Stop them with 'make services-down' (data is kept)."
  fi
fi
exit $status
