#!/usr/bin/env bash
# run-suites.sh — grades one target (a stage or a lab) with its suites and prints its score.
#
# usage: run-suites.sh TARGET RESULTS_DIR STAGE_BIN UNIT_BIN [API_BIN...]
# The unit suite links the target's own modules; each black-box API_BIN (week 1's, week 2's...)
# runs against STAGE_BIN. Every suite writes RESULTS_DIR/TARGET/<suite>.json; the grade tool
# sums them. QUIET=1 sends the suites' own output to RESULTS_DIR/TARGET.log (the lab check).
set -uo pipefail
target=$1 results=$2 stage=$3 unit=$4
shift 4
here=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "${results:?}/$target"
mkdir -p "$results/$target"
log=/dev/stderr
if [ "${QUIET:-0}" = 1 ]; then log="$results/$target.log"; : > "$log"; fi

# Every suite has a hard time limit, so a hung test can never hang CI (Criterion also stops any
# single test after 60 s).
limit=${SUITE_TIMEOUT_SECONDS:-900}
status=0
# Test databases (week 2 on) are tagged with this run and dropped after each suite; their
# servers are gone by then, and another run's databases are left alone.
export TASKD_TEST_RUN="r$$"
prune() { if [ -n "${TK_FRESH_DB_CMD:-}" ]; then bash "$here/shared/scripts/services.sh" prune-test-dbs >/dev/null 2>&1 || true; fi; }
echo "== $target: unit tests ($unit)"
TK_SUITE="$target/unit" TK_RESULTS="$results/$target/unit.json" timeout "$limit" "$unit" --jobs=2 >>"$log" 2>&1 || status=1
prune
for api in "$@"; do
  suite="api-$(basename "$(dirname "$(dirname "$api")")")"
  echo "== $target: black-box suite $suite against $stage"
  TASKD_BIN="$stage" TK_SUITE="$target/$suite" TK_RESULTS="$results/$target/$suite.json" \
    timeout "$limit" "$api" --jobs=2 >>"$log" 2>&1 || status=1
  prune
done
"$here/${BUILD:-build}/tools/grade" "$results" "$results/$target.grade.json" --only "$target" | tail -n +2 | head -n 2
exit $status
