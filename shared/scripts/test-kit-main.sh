#!/usr/bin/env bash
# test-kit-main.sh — regression test of the test kit's main() (shared/testkit/tk_main.c) where
# no suite shows it (`make test` runs it). The fixture shared/scripts/tests/kitfix/leaky.c is
# built with the kit's main() under AddressSanitizer:
# - `make test-sanitize`'s leak check: the leaking test passes in Criterion, so only the scan of
#   the output (shared/scripts/sanitize-scan.sh) can fail the run, and the kit's suppression of
#   Criterion's runner leak must not hide the test's own leak (decision 0026);
# - TK_ONLY (lab-check.sh's second run): only the listed tests run and are in the results, and a
#   list that cannot be read stops the run instead of running everything.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "test-kit-main: FAIL: $*"; failures=$((failures + 1)); }
cd "$here" || exit 1

# shellcheck disable=SC2046 # pkg-config prints several words on purpose
clang -std=c17 -D_GNU_SOURCE -g -O1 -fsanitize=address,undefined -Ishared/src -Ishared/testkit \
  $(pkg-config --cflags criterion libcurl libcjson libcrypto) \
  shared/scripts/tests/kitfix/leaky.c shared/testkit/*.c shared/src/buf.c -o "$tmp/leaky" \
  $(pkg-config --libs criterion libcurl libcjson libcrypto) -lpthread ||
  { echo "test-kit-main: FAIL: the fixture does not build"; exit 1; }

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
# Criterion alone: the leaking test passes and the suite exits 0. This is why the scan exists;
# if a later Criterion fails the test instead, this line says so and the scan can be revisited.
TK_RESULTS="$tmp/leaky.json" "$tmp/leaky" --jobs=2 >"$tmp/plain.log" 2>&1
rc=$?
grep -q "LeakSanitizer" "$tmp/plain.log" || fail "no leak report from the leaking test: $(cat "$tmp/plain.log")"
grep -q "fixture_leaks_a_buffer_it_forgot" "$tmp/plain.log" ||
  fail "the leak report does not name the test's function (suppressed?): $(cat "$tmp/plain.log")"
[ "$rc" -eq 0 ] || echo "test-kit-main: note: Criterion now exits $rc on a leak in a test"

# Through the scan: the run fails, and the report is shown again at the end.
out=$(bash shared/scripts/sanitize-scan.sh "$tmp/scan.log" env TK_RESULTS="$tmp/leaky.json" "$tmp/leaky" --jobs=2 2>&1)
rc=$?
[ "$rc" -ne 0 ] || fail "sanitize-scan.sh exited 0 on a run with a leak report"
[[ "$out" == *"sanitize-scan: 1 sanitizer report(s)"*"fixture_leaks_a_buffer_it_forgot"* ]] ||
  fail "sanitize-scan.sh does not show the report at the end: $out"

# A clean run passes the scan and says so; a failing command keeps its status.
out=$(bash shared/scripts/sanitize-scan.sh "$tmp/clean.log" env TK_RESULTS="$tmp/clean.json" \
  "$tmp/leaky" --filter='fixture/frees_what_it_allocates' 2>&1)
rc=$?
if [ "$rc" -ne 0 ] || [[ "$out" != *"sanitizers: no report"* ]]; then
  fail "a clean run did not pass the scan (rc $rc): $out"
fi
bash shared/scripts/sanitize-scan.sh "$tmp/false.log" false >/dev/null 2>&1
[ $? -eq 1 ] || fail "sanitize-scan.sh lost the command's exit status"

# TK_ONLY: one test of two, by its exact name.
printf 'fixture/frees_what_it_allocates\n' >"$tmp/only"
TK_ONLY="$tmp/only" TK_RESULTS="$tmp/only.json" "$tmp/leaky" >"$tmp/only.log" 2>&1
names=$(jq -r '[.tests[].name] | join(" ")' "$tmp/only.json" 2>/dev/null)
[ "$names" = "fixture::frees_what_it_allocates" ] ||
  fail "TK_ONLY listing one test: expected only it in the results, got '$names': $(cat "$tmp/only.log")"
printf 'fixture/frees_what_it\n' >"$tmp/prefix"
TK_ONLY="$tmp/prefix" TK_RESULTS="$tmp/prefix.json" "$tmp/leaky" >"$tmp/prefix.log" 2>&1
names=$(jq -r '[.tests[].name] | join(" ")' "$tmp/prefix.json" 2>/dev/null)
[ -z "$names" ] || fail "TK_ONLY matched a test by a prefix of its name: '$names'"
if TK_ONLY="$tmp/absent" TK_RESULTS="$tmp/absent.json" "$tmp/leaky" >"$tmp/absent.log" 2>&1 ||
  ! grep -q "TK_ONLY: cannot read" "$tmp/absent.log"; then
  fail "TK_ONLY naming a missing file did not stop the run with a message: $(cat "$tmp/absent.log")"
fi

# A test that fails while a process it started runs: the kit stops the process at exit, with no
# sanitizer report for what it held and nothing left behind (testkit.c, "leftovers").
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
if clang -std=c17 -D_GNU_SOURCE -g -O1 -fsanitize=address,undefined -Ishared/src -Ishared/testkit \
  $(pkg-config --cflags criterion libcurl libcjson libcrypto) \
  shared/scripts/tests/kitfix/leftover.c shared/testkit/*.c shared/src/buf.c -o "$tmp/leftover" \
  $(pkg-config --libs criterion libcurl libcjson libcrypto) -lpthread; then
  out=$(bash shared/scripts/sanitize-scan.sh "$tmp/leftover.log" env TK_RESULTS="$tmp/leftover.json" \
    "$tmp/leftover" 2>&1)
  log=$(sed -n 's/^leftover-dir //p' <<<"$out" | head -1)
  # The test fails, so the scan does not say "no report"; it must not count one either.
  [[ "$out" != *"sanitizer report(s)"* && "$out" == *"fails before its tk_proc_stop"* ]] ||
    fail "a test that failed with a process running left a sanitizer report: $out"
  [ -n "$log" ] || fail "the leftover fixture did not start its process: $out"
  [ -z "$log" ] || [ ! -e "$(dirname "$log")" ] ||
    fail "the failed test's process directory is still there: $(dirname "$log")"
  ! pgrep -f "^/bin/sleep 300$" >/dev/null || fail "the failed test's process is still running"
else
  fail "the leftover fixture does not build"
fi

if [ "$failures" -gt 0 ]; then
  echo "test-kit-main: $failures failure(s)"
  exit 1
fi
echo "test-kit-main: ok (a leak in a test fails the scan, a clean run passes; TK_ONLY runs exactly its list; a failed test's process is stopped)"
