#!/usr/bin/env bash
# remote-suites.sh — black-box suites against a service deployed elsewhere, through its URL.
#
# usage: remote-suites.sh URL LABEL OUT_DIR API_BIN...
#   URL     the service (http://127.0.0.1:PORT): week 5's server, week 6's Compose stack
#   LABEL   names the results (TK_SUITE=LABEL/api-week-N)
# Each suite runs with TK_REMOTE_URL: its shared server is that service, not a process the suite
# started. A test that needs more than a running service (a taskd of its own, a database of its
# own, the signing key, no worker beside it) is reported "not applicable" by the test kit
# (tk_need_local); the stages' own suites run those. Everything else must pass. The service
# must accept many registrations from one address (REGISTER_IP_MAX_ATTEMPTS): every suite
# registers its users from 127.0.0.1, as the local suites do. Results: OUT_DIR/api-week-N.json,
# not graded (the points are earned by the stages' own suites).
set -euo pipefail
url=$1 label=$2 out=$3
shift 3
mkdir -p "$out"
status=0 passed=0 failed=0 na=0
for api in "$@"; do
  suite="api-$(basename "$(dirname "$(dirname "$api")")")"
  json="$out/$suite.json"
  echo "== $label ($url): black-box suite $suite"
  TK_REMOTE_URL="$url" TK_AUTH=1 TK_SUITE="$label/$suite" TK_RESULTS="$json" \
    timeout 900 "$api" --jobs=2 || status=1
  read -r p f n < <(jq -r '"\(.passed) \(.failed) \(.not_applicable // 0)"' "$json" 2>/dev/null || echo "0 1 0")
  passed=$((passed + p)) failed=$((failed + f)) na=$((na + n))
done
echo "remote-suites: $label: $passed passed, $failed failed, $na not applicable"
exit "$status"
