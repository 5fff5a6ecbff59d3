#!/usr/bin/env bash
# test-grade.sh — the grade table's regression test (`make test` runs it), on the fixture tree
# shared/scripts/tests/labfix and its result files: every week and lab is a row even when never
# graded (a lab "not started", a week "reference, not graded"); a fresh clone (no results at
# all) is no error and prints no "0 passed, 0 failed"; a row says when it was graded and
# "changed since" when a source is newer; the one next step; a failing week fails the exit
# status; grade.json keeps graded_at and the git state.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
grade="$here/${BUILD:-build}/tools/grade"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "test-grade: FAIL: $*"; failures=$((failures + 1)); }
[ -x "$grade" ] || { echo "test-grade: build $grade first (make ${BUILD:-build}/tools/grade)"; exit 1; }

cp -r "$here/shared/scripts/tests/labfix" "$tmp/f"
root="$tmp/f"
row() { grep -E "^$1 " <<<"$out"; }

# A fresh clone: no results folder at all.
out=$("$grade" "$root/absent" "$tmp/g.json" --root "$root" 2>&1) || fail "a fresh clone fails: $out"
# A lab is the learner's ("not started"); a week is the reference, which make test-week-N grades
# (the lab READMEs call it "week-N (reference)").
for t in lab-1 lab-2; do
  [[ "$(row $t)" == *"not started"* ]] || fail "$t is not a 'not started' row on a fresh clone: $out"
done
for n in 1 2; do
  [[ "$(row week-$n)" == *"reference, not graded"*"make test-week-$n"* ]] ||
    fail "week-$n is not a 'reference, not graded' row naming make test-week-$n: $(row week-$n)"
done
[ "$(jq -r '.targets["week-1"].state' "$tmp/g.json")" = "not graded" ] || fail "grade.json's week-1 is not 'not graded'"
[[ "$out" == *"0 passed, 0 failed"* ]] && fail "a fresh clone prints '0 passed, 0 failed'"
[[ "$out" == *"Next: make lab-1"* ]] || fail "a fresh clone's next step is not make lab-1: $out"
[ "$(jq -r '.targets["lab-2"].state' "$tmp/g.json")" = "not started" ] || fail "grade.json lacks lab-2"

# Graded results: the fixture's lab-1 (8 of 17 points) and a week-1 that passes.
mkdir -p "$tmp/r/week-1"
cp -r "$root/results/lab-1" "$tmp/r/"
jq '.tests |= map(.passed = true) | .points = .max_points | .failed = 0' "$root/results/lab-1/unit.json" >"$tmp/r/week-1/unit.json"
touch -d '2 hours ago' "$tmp/r"/*/*.json
find "$root/weeks" "$root/labs" -type f -exec touch -d '3 hours ago' {} +
( cd "$root" && git init -q && git add -A && git -c user.email=t@t -c user.name=t commit -qm fixture )
out=$("$grade" "$tmp/r" "$tmp/g.json" --root "$root" 2>&1) || fail "a passing week fails the exit status: $out"
[[ "$(row lab-1)" == *"[#########"*"47.1%"*"8/17"*"$(date -d '2 hours ago' +%Y-%m-%d)"* ]] || fail "lab-1's row: $(row lab-1)"
[[ "$(row week-1)" == *"100.0%"*"reference"* ]] || fail "week-1's row: $(row week-1)"
[[ "$(row lab-2)" == *"not started"* ]] || fail "lab-2 is not 'not started': $out"
[[ "$out" == *"changed since"* ]] && fail "nothing changed, but a row says 'changed since': $out"
[[ "$out" == *"Next: make lab-1: lab 1 is at 47.1%"* ]] || fail "the next step is not lab 1: $out"
[ "$(jq -r '.git.commit | length' "$tmp/g.json")" = 40 ] || fail "grade.json has no git commit"
[ "$(jq -r '.git.dirty' "$tmp/g.json")" = false ] || fail "a clean tree is not dirty: false"
jq -e '.graded_at and .targets["lab-1"].graded_at and (.targets["lab-1"].suites | length == 2)' "$tmp/g.json" >/dev/null ||
  fail "grade.json lacks graded_at or the suites"

# The learner saves a lab file: the row says so, and so does the next step; git is dirty.
echo '/* more */' >>"$root/labs/01-demo/demo.c"
out=$("$grade" "$tmp/r" "$tmp/g.json" --root "$root" 2>&1)
[[ "$(row lab-1)" == *"changed since (labs/01-demo/demo.c)"* ]] || fail "no 'changed since': $(row lab-1)"
[[ "$out" == *"Next: make lab-1: your files changed"* ]] || fail "the next step ignores the change: $out"
[ "$(jq -r '.git.dirty' "$tmp/g.json")" = true ] || fail "an edited tree is not dirty: true"

# A failing reference week fails the exit status and is the next step.
jq '.tests[0].passed = false | .failed = 1' "$tmp/r/week-1/unit.json" >"$tmp/u" && mv "$tmp/u" "$tmp/r/week-1/unit.json"
out=$("$grade" "$tmp/r" "$tmp/g.json" --root "$root" 2>&1) && fail "a failing week exits 0"
[[ "$out" == *"Next: make test-week-1"* ]] || fail "a failing week is not the next step: $out"

# A suite written in bash (shared/scripts/checks.sh, week 8's release, blue/green and auto-update):
# its results join the week's grade; a planned check it never reached counts as failed, so an
# early exit cannot shrink the total; its exit status says whether one failed.
cat >"$tmp/suite.sh" <<'SUITE'
. "$1/shared/scripts/checks.sh"
checks_begin week-1 shell a::passes:2 a::fails:1 b::never_reached:3
finish() { checks_end ""; exit $?; }
trap finish EXIT
check_ok a::passes "this one passes"
check_bad a::fails "this one fails \"quoted\"" "its output"
exit 0
SUITE
out=$(CHECKS_RESULTS="$tmp/r" bash "$tmp/suite.sh" "$here" 2>&1) && fail "a shell suite with a failed check exits 0: $out"
[[ "$out" == *"1 passed, 2 failed, 2/6 points"* ]] || fail "the shell suite's summary is wrong: $out"
jq -e '.points == 2 and .max_points == 6 and .failed == 2 and
  (.tests | map(select(.name == "b::never_reached" and (.passed | not) and (.message | test("not run")))) | length == 1) and
  (.tests | map(select(.name == "a::fails")) | .[0].message | contains("fails \"quoted\": its output"))' \
  "$tmp/r/week-1/shell.json" >/dev/null || fail "the shell suite's results are wrong: $(cat "$tmp/r/week-1/shell.json")"
out=$("$grade" "$tmp/r" "$tmp/g.json" --root "$root" 2>&1)
[ "$(jq -r '.targets["week-1"].suites | map(select(.suite == "week-1/shell")) | length' "$tmp/g.json")" = 1 ] ||
  fail "the grade does not count the shell suite: $(jq -c '.targets["week-1"]' "$tmp/g.json")"
printf '%s\n' 'checks_begin week-1 bad a::x:1' 'check_ok a::unplanned "x"' >"$tmp/bad.sh"
out=$(CHECKS_RESULTS=none bash -c '. "$0/shared/scripts/checks.sh"; . "$1"' "$here" "$tmp/bad.sh" 2>&1) &&
  fail "a check outside the plan is accepted: $out"
[[ "$out" == *"not in the plan"* ]] || fail "a check outside the plan is not named: $out"

[ $failures -eq 0 ] && echo "test-grade: every week and lab is a row, fresh clones work, stale results are flagged, grade.json has time and git state, shell suites are graded out of their whole plan"
[ $failures -eq 0 ]
