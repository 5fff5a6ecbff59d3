#!/usr/bin/env bash
# sanitize-scan.sh — runs a command, keeps its output in LOG, and fails if any sanitizer report
# appears in it, even when the command itself exits 0.
#
# usage: sanitize-scan.sh LOG COMMAND [ARG...]
#
# Why the exit status is not enough: Criterion runs each test in a process of its own and takes
# the test's result before that process exits. LeakSanitizer checks at exit, so a test whose
# code (or the module it exercises) leaks prints a report and still counts as passing; the suite
# exits 0 (measured with Criterion 2.4.1). `make test-sanitize` runs the newest stage's suites
# through this script, so such a report fails the run and is shown again at the end.
# ASan's other errors and UBSan (halt_on_error=1) stop the test process at once, so they fail
# their test anyway; they are listed here too so the summary shows every report in one place.
set -uo pipefail
log=$1
shift
mkdir -p "$(dirname "$log")"
"$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

pattern='ERROR: (LeakSanitizer|AddressSanitizer)|runtime error:'
reports=$(grep -cE "$pattern" "$log")
if [ "$reports" -gt 0 ]; then
  echo
  echo "sanitize-scan: $reports sanitizer report(s) in the output (all of it: $log):"
  # Each report with the lines that locate it: the first frames and the summary.
  grep -nE -A8 "$pattern" "$log" | head -120
  [ "$status" -eq 0 ] && status=1
elif [ "$status" -eq 0 ]; then
  echo "sanitizers: no report"
fi
exit "$status"
