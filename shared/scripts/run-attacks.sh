#!/usr/bin/env bash
# run-attacks.sh — runs the attack suites (weeks/NN/tests/attack_*.c) against one stage.
#
# usage: run-attacks.sh STAGE_BIN [ATTACK_BIN...]
# Each suite runs against STAGE_BIN with a hard time limit. Attacks print lines that start with
# "figure: "; they are collected and printed again after the suites, as the run's summary.
set -uo pipefail
stage=$1
shift
limit=${SUITE_TIMEOUT_SECONDS:-900}
build=${BUILD:-build}
mkdir -p "$build/attacks"
log="$build/attacks/attacks.log"
: >"$log"
status=0
export TASKD_TEST_RUN="a$$"
if [ $# -eq 0 ]; then
  echo "attacks: no week has an attack suite yet (weeks/NN/tests/attack_*.c)"
  exit 0
fi
for suite in "$@"; do
  name="attacks-$(basename "$(dirname "$(dirname "$suite")")")"
  echo "== $name against $stage"
  # pipefail: the pipeline fails when the suite does, whatever grep finds.
  if ! TASKD_BIN="$stage" TK_SUITE="$name" timeout "$limit" "$suite" --jobs=1 2>&1 | tee -a "$log" \
    | { grep -E '^\[(FAIL|----)\]|Synthesis' || true; }; then
    status=1
  fi
done
echo "== attack figures"
grep -ho 'figure: .*' "$log" | sed 's/^figure: /  /' || echo "  (no figures printed)"
[ $status -eq 0 ] && echo "attacks: all refused" || echo "attacks: FAILED (full output: $log)"
exit $status
