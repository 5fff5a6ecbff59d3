#!/usr/bin/env bash
# junit.sh — the suites' results as JUnit XML, the test-report format both pipeline hosts read
# (GitLab's artifacts:reports:junit shows it on the merge request; on GitHub a report action turns
# it into a check). The suites write their own JSON (shared/testkit/tk_main.c: every test's name,
# points, pass or fail, seconds and failure message); this writes one XML file per graded target.
#
# usage: junit.sh RESULTS_DIR OUT_DIR
#   RESULTS_DIR/TARGET/SUITE.json  ->  OUT_DIR/TARGET.xml: a <testsuite> per suite, a <testcase>
#   per test, named as Criterion names it ("crud::create_gives_each_task_its_own_id" becomes
#   classname "week-1.api-week-1.crud", name "create_gives_each_task_its_own_id").
# Exit status: 0 when every file was written (failed tests are data, not an error here: the
# test job already failed on them), 1 when RESULTS_DIR holds no results, 2 on bad usage.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: junit.sh RESULTS_DIR OUT_DIR" >&2; exit 2; }
results=$1 out=$2

shopt -s nullglob
targets=()
for dir in "$results"/*/; do
  files=("$dir"*.json)
  [ ${#files[@]} -gt 0 ] && targets+=("$(basename "$dir")")
done
[ ${#targets[@]} -gt 0 ] || { echo "junit: no results in $results (run a test job first)" >&2; exit 1; }
mkdir -p "$out"

# XML 1.0 allows no control characters but tab and newline; @html escapes < > & ' ".
# shellcheck disable=SC2016 # a jq program, not shell
program='
def text: tostring | gsub("[\u0000-\u0008\u000b\u000c\u000e-\u001f]"; "") | @html;
def secs: . * 1000 | round / 1000;
def testcase($target; $suite):
  (.name | split("::")) as $parts
  | ($parts | if length > 1 then .[0] else "tests" end) as $group
  | ($parts | if length > 1 then .[1:] | join("::") else .[0] end) as $test
  | "    <testcase classname=\"\("\($target).\($suite).\($group)" | text)\" name=\"\($test | text)\""
    + " time=\"\(.seconds // 0 | secs)\""
    + (if .passed then "/>"
       else ">\n      <failure message=\"\((.message // "failed") | split("\n")[0] | text)\">"
            + "\((.message // "failed") | text)</failure>\n    </testcase>" end);
[inputs] as $suites
| "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
  "<testsuites name=\"\($target | text)\" tests=\"\([$suites[].tests | length] | add)\""
  + " failures=\"\([$suites[].tests[] | select(.passed | not)] | length)\">",
  ($suites[] as $s
   | ($s.suite | split("/") | last) as $suite
   | "  <testsuite name=\"\("\($target).\($suite)" | text)\" tests=\"\($s.tests | length)\""
     + " failures=\"\([$s.tests[] | select(.passed | not)] | length)\""
     + " time=\"\([$s.tests[].seconds // 0] | add // 0 | secs)\">",
     ($s.tests[] | testcase($target; $suite)),
     "  </testsuite>"),
  "</testsuites>"'

for target in "${targets[@]}"; do
  jq -rn --arg target "$target" "$program" "$results/$target"/*.json >"$out/$target.xml.tmp"
  mv "$out/$target.xml.tmp" "$out/$target.xml"
done
echo "junit: ${#targets[@]} report(s) in $out/: ${targets[*]}"
