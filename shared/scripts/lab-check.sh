#!/usr/bin/env bash
# lab-check.sh — CI's proof that a lab is current and that its suites can fail.
#
# usage: lab-check.sh TARGET WEEK_DIR LAB_DIR RESULTS_DIR STAGE_BIN UNIT_BIN [API_BIN...]
# 1. Regenerates LAB_DIR from WEEK_DIR's LAB markers (labgen.sh) into $BUILD/labgen and compares
#    it with what is committed: a lab that no longer matches its week is out of date.
# 2. Checks the exercise data (exercises.sh check): every marker has its weeks/NN/lab/N.M.md and
#    the reverse, every tests: glob matches a test, the README's exercise list is current, the
#    minutes agree with ROADMAP.md. A week without data yet gets a note, not a failure.
# 3. Grades the pristine lab (run-suites.sh, quietly) and checks that it scores below 100%: a
#    lab whose TODOs already pass every test teaches nothing; and, once the week has exercise
#    data, that the learner's share (points the pristine lab loses / total) is at least 1/3 and
#    every exercise has a failing test to make pass (exercises.sh share).
set -uo pipefail
target=$1 week_dir=$2 lab_dir=$3 results=$4
shift 4
build=${BUILD:-build}
here=$(cd "$(dirname "$0")/../.." && pwd)

fresh="$build/labgen/$lab_dir"
rm -rf "$fresh"
bash "$here/shared/scripts/labgen.sh" "$week_dir" "$fresh" || exit 1
if ! diff -r "$fresh" "$lab_dir" --exclude=README.md --exclude=.backup >/dev/null; then
  echo "lab-check: $lab_dir is out of date: run 'make labs' and commit"
  exit 1
fi

status=0
bash "$here/shared/scripts/exercises.sh" check "$week_dir" "$lab_dir" "${@:2}" || status=1

# The pristine lab is expected to fail some tests: its exit status says nothing here.
QUIET=1 bash "$here/shared/scripts/run-suites.sh" "$target" "$results" "$@" >/dev/null
bash "$here/shared/scripts/exercises.sh" share "$week_dir" "$results/$target" || status=1
"$here/$build/tools/grade" "$results" "$build/$target.grade.json" --only "$target" >/dev/null
score=$(jq -r --arg t "$target" '.targets[$t] | select(.state == "graded") | "\(.points)/\(.max_points)"' \
  "$build/$target.grade.json")
got=${score%/*} max=${score#*/}
if [ -z "$score" ] || [ "$got" -ge "$max" ]; then
  echo "lab-check: pristine ${target/-/ } scores ${score:-nothing}, expected below 100%"
  exit 1
fi
[ $status -eq 0 ] || { echo "lab-check: ${target/-/ }'s exercise data fails the checks above"; exit 1; }
echo "lab-check: ${target/-/ } is current and its pristine copy scores $score (< 100%, so the suite can fail)"
