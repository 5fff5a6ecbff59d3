#!/usr/bin/env bash
# test-exercises.sh — exercises.sh's regression test (`make test` runs it) on the fixture week in
# shared/scripts/tests/labfix: ids compare as strings (1.1 is not 1.10) and sort by number, and
# `make lab-check-N` fails on each broken rule: a marker without data or data without a marker, a
# tests: glob that matches nothing, a stale README list, minutes that disagree with ROADMAP.md,
# a learner share under 1/3; a week without data is a note, not a failure.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
ex="$here/shared/scripts/exercises.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "test-exercises: FAIL: $*"; failures=$((failures + 1)); }

fresh() {
  rm -rf "$tmp/f" && cp -r "$here/shared/scripts/tests/labfix" "$tmp/f"
  week="$tmp/f/weeks/01-demo" lab="$tmp/f/labs/01-demo" res="$tmp/f/results/lab-1"
  export ROADMAP="$tmp/f/ROADMAP.md"
}
check() { bash "$ex" check "$week" "$lab" "$tmp/f/bin/unit" "$tmp/f/bin/week-1/tests/api" 2>&1; }
# expect_check_fails WHAT TEXT: the check exits non-zero and its output holds TEXT.
expect_check_fails() {
  local out
  if out=$(check); then fail "$1: the check passed"; elif [[ "$out" != *"$2"* ]]; then fail "$1: no '$2' in: $out"; fi
}

fresh
[ "$(bash "$ex" list "$week" | cut -f1 | tr '\n' ' ')" = "1.1 1.2 1.10 " ] || fail "ids are not in the order 1.1 1.2 1.10"
out=$(check) && fail "the fixture's README has no exercise list yet, but the check passed"
bash "$ex" write "$week" "$lab" >/dev/null
out=$(check) || fail "the check fails on a correct week: $out"
grep -q 'Nudge of 1.10' "$lab/README.md" || fail "the README list lacks 1.10's nudge"
grep -q 'Idea of 1.10' "$lab/README.md" && fail "the README list shows a hint tier beyond the nudge"

# 1.1 passes every test it names, 1.10 does not: as numbers they would be one exercise.
status=$(bash "$ex" status "$week" "$res")
[[ "$status" == *$'1.1\tReturn one\tdone\t0\t2'* ]] || fail "1.1 is not done with 2 tests: $status"
[[ "$status" == *$'1.10\tReturn ten\ttodo\t2\t2'* ]] || fail "1.10 is not todo with 2 failing: $status"
report=$(bash "$ex" report "$week" "$res")
[[ "$report" == *"Exercise 1.10 — Return ten (2 failing):"*"demo/ten_a"*"http/ten"*"Not tied"*"other/unrelated"* ]] ||
  fail "the report does not group failures by exercise: $report"
# While the first exercise fails, an untied failure is shown as waiting on it (its cascade).
jq '(.tests[] | select(.name == "demo::one_a") | .passed) = false' "$res/unit.json" >"$tmp/u.json" &&
  cp "$res/unit.json" "$tmp/unit.saved" && mv "$tmp/u.json" "$res/unit.json"
report=$(bash "$ex" report "$week" "$res")
[[ "$report" == *"Exercise 1.1 — Return one (1 failing):"*"Waiting on 1.1 (1 failing: no exercise of their own, they pass once 1.1 is done):"*"other/unrelated"* ]] ||
  fail "with 1.1 failing, the untied failure is not shown as waiting on 1.1: $report"
[[ "$report" == *"Not tied"* ]] && fail "with 1.1 failing, the report still says 'Not tied': $report"
cp "$tmp/unit.saved" "$res/unit.json"

# A test that two exercises name belongs to the later one: it needs both, and shown under the
# earlier one it would keep that one "todo" (and "Next:" on it) until the later one is done.
sed -i 's|^tests: .*|tests: unit:demo/one_* unit:demo/ten*|' "$week/lab/1.1.md"
status=$(bash "$ex" status "$week" "$res")
[[ "$status" == *$'1.1\tReturn one\tdone\t0\t2'* ]] || fail "1.1 took demo/ten_a, which 1.10 names too: $status"
[[ "$status" == *$'1.10\tReturn ten\ttodo\t2\t2'* ]] || fail "1.10 lost demo/ten_a to 1.1: $status"

# orphans: a failing test that no exercise names (other/unrelated) is reported; named, it is not.
out=$(bash "$ex" orphans "$week" "$res") && fail "orphans passed with other/unrelated failing and unnamed"
[ "$out" = $'unit\tother/unrelated' ] || fail "orphans does not name other/unrelated alone: $out"
printf '# known\nunit other/unrelated\n' >"$week/lab/untied.txt"
out=$(bash "$ex" orphans "$week" "$res" 2>&1) || fail "orphans fails on a test listed in untied.txt: $out"
[[ "$out" == *"1 failing tests are still tied to no exercise"* ]] || fail "orphans does not count the listed test: $out"
rm "$week/lab/untied.txt"
sed -i 's|^tests: .*|tests: unit:demo/two unit:other/*|' "$week/lab/1.2.md"
out=$(bash "$ex" orphans "$week" "$res") || fail "orphans fails when every failing test is named: $out"

# The lab README must say how a lesson is marked read (make progress's "lesson" column).
fresh && bash "$ex" write "$week" "$lab" >/dev/null && sed -i 's/make lesson-done-1/make lesson-done/' "$lab/README.md"
expect_check_fails "a README without make lesson-done-1" "lesson-done-1"

# Each broken rule fails the check.
rm "$week/lab/1.2.md"
expect_check_fails "a marker without data" "LAB:BEGIN 1.2"
fresh && bash "$ex" write "$week" "$lab" >/dev/null
sed 's/^# 1.2 /# 1.3 /' "$week/lab/1.2.md" >"$week/lab/1.3.md"
expect_check_fails "data without a marker" "1.3.md has no LAB:BEGIN 1.3"
fresh && sed -i 's|^tests: .*|tests: unit:demo/twelve|' "$week/lab/1.2.md" && bash "$ex" write "$week" "$lab" >/dev/null
expect_check_fails "a glob that matches nothing" "'unit:demo/twelve' matches no test"
fresh && bash "$ex" write "$week" "$lab" >/dev/null && sed -i 's/look at demo_two/look elsewhere/' "$week/lab/1.2.md"
expect_check_fails "a stale README" "stale"
fresh && sed -i 's/^minutes: .*/minutes: 200/' "$week/lab/1.2.md" && bash "$ex" write "$week" "$lab" >/dev/null
expect_check_fails "minutes beyond ROADMAP's range" "380 minutes"
sed -i 's/ (3–5 h)//' "$ROADMAP"
out=$(check) || fail "380 minutes should fit the plan's general 4–7 h: $out"
sed -i 's/^\*\*Lab\.\*\* Three returns\./**Lab** (three exercises, about 5.5 hours). Three returns./' "$ROADMAP"
out=$(check) || fail "380 minutes should fit 'about 5.5 hours' (248-412): $out"
sed -i 's/about 5.5 hours/about 4 h/' "$ROADMAP"
expect_check_fails "minutes beyond 'about 4 h'" "180-300 minutes"

# The learner share: 9 of 17 points lost passes; a lab that loses too little fails.
fresh
out=$(bash "$ex" share "$week" "$res" 2>&1)
[[ "$out" == *"9 of 17 points"* ]] || fail "the share is not 9 of 17: $out"
[[ "$out" == *"1.1: every test it names already passes"* ]] || fail "an exercise already done in the pristine lab is not reported"
jq '.points = 8' "$res/unit.json" >"$tmp/u" && mv "$tmp/u" "$res/unit.json"
out=$(bash "$ex" share "$week" "$res" 2>&1) && fail "a share of 4/17 passed"
[[ "$out" == *"at least a third"* ]] || fail "the share failure does not say why: $out"

# A week without data: a note, exit 0.
rm -rf "$week/lab"
out=$(check) || fail "a week without exercise data fails the check: $out"
[[ "$out" == *"no exercise data"* ]] || fail "no 'no exercise data' note: $out"
out=$(bash "$ex" share "$week" "$res") || fail "a week without data fails on its share: $out"

[ $failures -eq 0 ] && echo "test-exercises: ids compare as strings, and each broken rule of the exercise data fails lab-check"
[ $failures -eq 0 ]
