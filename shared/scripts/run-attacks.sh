#!/usr/bin/env bash
# run-attacks.sh — runs the attack suites (weeks/NN/tests/attack_*.c) against one stage.
#
# usage: run-attacks.sh STAGE_BIN [ATTACK_BIN...]
# Each suite runs against STAGE_BIN with a hard time limit (ATTACK_TIMEOUT_SECONDS, default 300:
# every attack bounds its own loops, so the limit only catches a server that hangs them all).
# Attacks print lines that start with "figure: "; they are collected and printed again after the
# suites, as the run's summary. Written to $BUILD/attacks/:
#   <suite>.log    the suite's whole output
#   <suite>.json   the test kit's results (passed, failed, each test's message)
#   summary.json   {"stage","seconds","passed","failed","suites":[{"name","status","passed",
#                  "failed","seconds","figures":[...],"log"}]} for CI and the README's figures
set -uo pipefail
stage=$1
shift
limit=${ATTACK_TIMEOUT_SECONDS:-300}
build=${BUILD:-build}
out="$build/attacks"
mkdir -p "$out"
rm -f "$out"/*.log "$out"/*.json
export TASKD_TEST_RUN="a$$"
if [ $# -eq 0 ]; then
  echo "attacks: no week has an attack suite yet (weeks/NN/tests/attack_*.c)"
  exit 0
fi

# A JSON string literal of $1 (figures are plain text, but may quote or backslash).
json_str() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/ }
  printf '"%s"' "$s"
}
# The first top-level number named $2 in the test kit's results file $1 (0 when absent).
result_num() {
  local n
  n=$(sed -n "s/^[[:space:]]*\"$2\":[[:space:]]*\([0-9][0-9]*\).*/\1/p" "$1" 2>/dev/null | head -1)
  echo "${n:-0}"
}

status=0
total_passed=0
total_failed=0
suites_json=""
run_start=$SECONDS
for suite in "$@"; do
  name="attacks-$(basename "$(dirname "$(dirname "$suite")")")"
  log="$out/$name.log"
  results="$out/$name.json"
  echo "== $name against $stage (limit ${limit}s)"
  start=$SECONDS
  # pipefail: the pipeline fails when the suite does, whatever grep finds.
  TASKD_BIN="$stage" TK_SUITE="$name" TK_RESULTS="$results" timeout "$limit" "$suite" --jobs=1 \
    >"$log" 2>&1
  rc=$?
  seconds=$((SECONDS - start))
  grep -E '^\[(FAIL|----)\]|Synthesis|figure: ' "$log" || true
  passed=$(result_num "$results" passed)
  failed=$(result_num "$results" failed)
  if [ $rc -eq 124 ]; then
    suite_status=timeout
    echo "$name: killed after ${limit}s (ATTACK_TIMEOUT_SECONDS)"
  elif [ $rc -ne 0 ] || [ ! -s "$results" ]; then
    suite_status=failed
  else
    suite_status=passed
  fi
  if [ "$suite_status" != passed ]; then
    status=1
    [ "$failed" -gt 0 ] || failed=1
  fi
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  figures=""
  while IFS= read -r line; do
    figures+="${figures:+, }$(json_str "$line")"
  done < <(grep -ho 'figure: .*' "$log" | sed 's/^figure: //')
  suites_json+="${suites_json:+,
    }{\"name\": $(json_str "$name"), \"status\": \"$suite_status\", \"passed\": $passed, \
\"failed\": $failed, \"seconds\": $seconds, \"figures\": [$figures], \"log\": $(json_str "$log")}"
done
seconds=$((SECONDS - run_start))
cat >"$out/summary.json" <<EOF
{
  "stage": $(json_str "$stage"),
  "seconds": $seconds,
  "passed": $total_passed,
  "failed": $total_failed,
  "suites": [
    $suites_json
  ]
}
EOF
echo "== attack figures"
cat "$out"/attacks-*.log | grep -ho 'figure: .*' | sed 's/^figure: /  /' || echo "  (no figures printed)"
echo "attacks: $total_passed passed, $total_failed failed in ${seconds}s (summary: $out/summary.json)"
[ $status -eq 0 ] && echo "attacks: all refused" || echo "attacks: FAILED (logs: $out/attacks-*.log)"
exit $status
