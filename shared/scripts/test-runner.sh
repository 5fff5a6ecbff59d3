#!/usr/bin/env bash
# test-runner.sh — lab.sh's regression test (`make test` runs it) on the fixture week in
# shared/scripts/tests/labfix: hints go Nudge, Idea, Shape for the first exercise not passing; a
# solution is shown only for an exercise whose tests pass on the lab files as they are now (not
# as the last run found them); progress has the week's row; watch mode grades again after a
# save, with inotify and with its polling fallback, and acts on keys pressed during a run.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
lab="$here/shared/scripts/lab.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "test-runner: FAIL: $*"; failures=$((failures + 1)); }

cp -r "$here/shared/scripts/tests/labfix" "$tmp/f"
export LAB_ROOT="$tmp/f" BUILD="$tmp/f/build"
mkdir -p "$BUILD/results" && cp -r "$tmp/f/results/lab-1" "$BUILD/results/"
bash "$here/shared/scripts/labgen.sh" "$tmp/f/weeks/01-demo" "$tmp/f/labs/01-demo"

# 1.1 passes, so the hints are 1.2's, tier after tier; the last tier repeats.
out=$(bash "$lab" hint 1)
[[ "$out" == *"exercise 1.2"*"Nudge of 1.2"* ]] || fail "the first hint is not 1.2's nudge: $out"
out=$(bash "$lab" hint 1)
[[ "$out" == *"Idea of 1.2"* ]] || fail "the second hint is not 1.2's idea: $out"
out=$(bash "$lab" hint 1)
[[ "$out" == *"Shape of 1.2"* ]] || fail "the third hint is not 1.2's shape: $out"
out=$(bash "$lab" hint 1)
[[ "$out" == *"Shape of 1.2"*"last hint"* ]] || fail "the fourth hint does not stay on the shape: $out"

# The reference of a passing exercise, and only of that one (1.1, not 1.10), decided by grading
# its tests on the files as they are now (fake suites that read demo.c), not by the last run.
export MAKE=true LAB_STAGE=/bin/true LAB_UNIT="$tmp/f/bin/unit-live" LAB_API="$tmp/f/bin/week-1/tests/api-live"
out=$(bash "$lab" solution 1 1.1)
[[ "$out" == *"does not pass yet"*"now"* ]] ||
  fail "the last run says 1.1 passes, the lab file as it is now does not: still shown: $out"
sed -i '0,/return 0;/s//return 1;/' "$tmp/f/labs/01-demo/demo.c"
out=$(bash "$lab" solution 1 1.1)
[[ "$out" == *"return 1;"* ]] || fail "the solution of 1.1, passing now, is not shown: $out"
[[ "$out" == *"return 10;"* ]] && fail "the solution of 1.1 shows 1.10's code"
out=$(bash "$lab" solution 1 1.10)
[[ "$out" == *"return 10;"* ]] && fail "the solution of failing 1.10 is shown"
[[ "$out" == *"does not pass yet"*"http/"* || "$out" == *"does not pass yet"*"demo/ten_a"* ]] ||
  fail "the refusal does not say why: $out"
out=$(MAKE=false bash "$lab" solution 1 1.1)
[[ "$out" == *"does not build"* && "$out" != *"return 1;"* ]] || fail "a lab that does not build is graded: $out"
unset MAKE LAB_STAGE LAB_UNIT LAB_API

# progress: week 1's row with its bar, exercises done and lesson state.
bash "$lab" lesson-done 1 >/dev/null
out=$(bash "$lab" progress)
[[ "$out" == *"01-demo"*"read"*"[#"*"%"*"1/3 done"* ]] || fail "progress lacks week 1's row: $out"

# watch: a save makes it grade again, with inotify (when this machine has it) and by polling.
watch_once() {
  local mode=$1 pid
  : >"$tmp/runs" && : >"$tmp/watch.out"
  WATCH_POLL=$([ "$mode" = poll ] && echo 1 || echo 0) WATCH_MAX_RUNS=2 WATCH_GRADE="echo run >>$tmp/runs" \
    timeout 60 bash "$lab" watch 1 </dev/null >"$tmp/watch.out" 2>&1 &
  pid=$!
  # Save once the first screen is up (the watcher is waiting), as a learner would.
  for _ in $(seq 100); do grep -q "Current exercise" "$tmp/watch.out" && break; sleep 0.2; done
  sleep 1
  echo '/* saved */' >>"$tmp/f/labs/01-demo/demo.c"
  wait "$pid"
  out=$(cat "$tmp/watch.out")
  [ "$(wc -l <"$tmp/runs")" = 2 ] || fail "watch ($mode) did not grade again after a save: $out"
  [[ "$out" == *"Current exercise: 1.2"* ]] || fail "watch ($mode) does not show the current exercise: $out"
}
watch_once poll
[[ "$out" == *"polling every 2 s"* ]] || fail "WATCH_POLL=1 does not poll: $out"
if command -v inotifywait >/dev/null; then
  watch_once inotify
  [[ "$out" == *"(inotify)"* ]] || fail "watch does not use inotify where it works: $out"
fi

# watch: keys pressed during a run (h, then q) are acted on once it is over, in a terminal
# (script(1) gives it one); the hint then speaks of keys, not of make hint-1.
if command -v script >/dev/null; then
  : >"$tmp/runs" && rm -f "$BUILD/lab-state/hints-1"
  { sleep 1; printf h; sleep 0.5; printf q; sleep 20; } |
    WATCH_POLL=1 WATCH_GRADE="sleep 3; echo run >>$tmp/runs" LAB_ROOT="$LAB_ROOT" BUILD="$BUILD" \
      timeout 30 script -qefc "bash $lab watch 1" /dev/null >"$tmp/watch.out" 2>&1
  out=$(tr -d '\r' <"$tmp/watch.out")
  [ "$(wc -l <"$tmp/runs")" = 1 ] || fail "watch graded $(wc -l <"$tmp/runs") times, expected once then q: $out"
  [[ "$out" == *"press h for a hint, q to quit"* ]] || fail "watch does not say 'press h for a hint, q to quit': $out"
  [[ "$out" == *"Hint "*"for exercise 1.2"*"Press h again for the"* ]] ||
    fail "h pressed during the run gave no hint after it (or one that says make hint-1): $out"
  [[ "$out" == *"make hint-1"* ]] && fail "watch's hint says 'make hint-1' instead of 'press h': $out"
fi

[ $failures -eq 0 ] && echo "test-runner: hints go up a tier at a time, solutions wait for passing tests, progress and watch work"
[ $failures -eq 0 ]
