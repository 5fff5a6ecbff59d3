#!/usr/bin/env bash
# openapi-proxy-suite.sh — runs one week's black-box suite through Prism's validating proxy
# (shared/scripts/openapi-proxy.sh) and fails on any answer the OpenAPI document does not
# describe. `make test-openapi-proxy` calls it for every week, with that week's suite environment.
#
# usage: openapi-proxy-suite.sh WEEK STAGE_BIN API_BIN
# The suite's own verdicts do not count here: Prism parses and re-frames what it forwards (it
# answers malformed JSON itself, re-encodes invalid UTF-8, turns chunked bodies into
# Content-Length ones), so the tests of the HTTP layer's edges fail through it by design; the
# normal runs (make test-week-N) grade those. What counts is what the proxy saw:
#   - an answer of the service the document does not describe (Prism's "Violation: response",
#     an undocumented status included), and
#   - a success for a request the document calls invalid (the kit's "does not describe" failure).
set -uo pipefail
week=$1 stage=$2 api=$3
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
out="$build/openapi-proxy/week-$week"
rm -rf "$out"
mkdir -p "$out"
if [ ! -x "$here/shared/npm/node_modules/.bin/prism" ]; then
  echo "openapi-proxy week-$week: Prism is not installed (shared/npm): run make deps, which needs the npm registry" >&2
  exit 1
fi
export TASKD_TEST_RUN="p$$"
start=$(date +%s)
OPENAPI_PROXY_LOGS="$out" TK_PROXY="bash $here/shared/scripts/openapi-proxy.sh" TASKD_BIN="$stage" \
  TK_SUITE="openapi-proxy/week-$week" TK_RESULTS="$out/results.json" \
  timeout "${SUITE_TIMEOUT_SECONDS:-900}" "$api" --jobs=2 >"$out/suite.log" 2>&1
ran=$?
if [ -n "${TK_FRESH_DB_CMD:-}" ]; then bash "$here/shared/scripts/services.sh" prune-test-dbs >/dev/null 2>&1 || true; fi

shopt -s nullglob
logs=("$out"/prism-*.log)
exchanges=0
[ ${#logs[@]} -eq 0 ] || exchanges=$(cat "${logs[@]}" | grep -c "Request received")
# Each undocumented answer with the request that got it (the last one received before it: with
# two tests at a time this is a good guess, and the suite log names the test).
responses=$( [ ${#logs[@]} -eq 0 ] || cat "${logs[@]}" | awk '
  /Request received/ { sub(/.*\[HTTP SERVER\] /, ""); sub(/ ℹ.*/, ""); last = $0 }
  /Violation: response/ { v = $0; sub(/.*Violation: /, "", v); print "  " last ": " v }')
successes=$(grep -E "^  FAIL .*which the OpenAPI document does not describe" "$out/suite.log" || true)
n_responses=$(printf '%s' "$responses" | grep -c . || true)
n_successes=$(printf '%s' "$successes" | grep -c . || true)
echo "openapi-proxy week-$week: $exchanges exchanges through Prism in $(($(date +%s) - start)) s," \
  "$n_responses answers the document does not describe, $n_successes successes for requests it calls invalid"
[ -z "$responses" ] || printf '%s\n' "$responses"
[ -z "$successes" ] || printf '%s\n' "$successes"
# The suite's own failures are expected here, but it must have run to the end (its results file
# is written last): a crashed or timed-out runner checked less than it claims.
if [ ! -s "$out/results.json" ]; then
  echo "openapi-proxy week-$week: the suite did not finish (exit status $ran; see $out/suite.log)" >&2
  exit 1
fi
if [ "$exchanges" -eq 0 ]; then
  echo "openapi-proxy week-$week: no exchange went through the proxy (see $out/suite.log)" >&2
  exit 1
fi
[ "$n_responses" -eq 0 ] && [ "$n_successes" -eq 0 ]
