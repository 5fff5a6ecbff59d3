#!/usr/bin/env bash
# bench-check.sh — `make bench-check`: compares a `make bench` run (its bench.json) with the
# performance goals of issue 17 and says, goal by goal, what was measured.
#
# usage: bench-check.sh BENCH_JSON
# Each ratio is the median over the run's rounds (as bench.sh prints it); each p99 the median of
# the endpoint's rounds; the memory is taskd's peak RSS over the rounds (bench.sh resets the
# high-water mark after its setup, whose login hashes a password in 64 MiB). The goals hold at 64
# connections with the default settings, which is how `make bench-check` runs the bench.
# Exit status: 0 when every goal is met or missed by at most 10% (this machine is shared and
# noisy: a goal just under its line is not news), 1 when one is missed by more, 2 on bad input.
# make test runs it as a report: its failure is printed, not counted.
set -euo pipefail
json=${1:?usage: bench-check.sh BENCH_JSON}
[ -s "$json" ] || { echo "bench-check: $json is missing or empty (run make bench first)" >&2; exit 2; }
command -v jq >/dev/null || { echo "bench-check: jq is needed (make deps)" >&2; exit 2; }

# kind  what                                    goal  (ratio: at least; p99_ms, rss_mb: at most)
goals=(
  "ratio|GET /tasks/{id} vs nginx|0.45"
  "ratio|GET /tasks/{id} vs GET /health|0.75"
  "ratio|POST /tasks vs pgbench|0.70"
  "ratio|GET /tasks?limit=20 vs pgbench|0.70"
  "p99_ms|GET /tasks/{id}|10"
  "p99_ms|GET /tasks?limit=20|10"
  "p99_ms|POST /tasks|10"
  "rss_mb|taskd|32"
)

# The medians, one "key<TAB>value" line each: "ratio|ENDPOINT vs CEILING", "p99_ms|ENDPOINT".
medians=$(jq -r '
  def median: sort | .[(length / 2) | floor];
  (.rounds | group_by(.endpoint + " vs " + .ceiling)[]
     | "ratio|\(.[0].endpoint) vs \(.[0].ceiling)\t\(map(.ratio) | median)"),
  (.rounds | map(select(.ceiling == "nginx")) | group_by(.endpoint)[]
     | "p99_ms|\(.[0].endpoint)\t\(map(.p99_ms) | median)"),
  "rss_mb|taskd\t\((.peak_rss_kb // 0) / 1024 | . * 10 | floor / 10)"' "$json") ||
  { echo "bench-check: $json is not a bench.json this script knows" >&2; exit 2; }

stage=$(jq -r '.stage // "?"' "$json")
echo "bench-check: $json ($stage, $(jq -r '.connections' "$json") connections, $(jq -r '.rounds | length' "$json") measurements)"
printf '  %-40s %10s %10s  %s\n' "goal" "wanted" "measured" "verdict"
status=0
for g in "${goals[@]}"; do
  IFS='|' read -r kind what want <<< "$g"
  got=$(awk -F'\t' -v k="$kind|$what" '$1 == k { print $2 }' <<< "$medians")
  if [ -z "$got" ]; then
    verdict="not measured (is the store PostgreSQL? pgbench ceilings need it)"
    sign=""
  else
    if [ "$kind" = ratio ]; then sign=">="; else sign="<="; fi
    verdict=$(awk -v got="$got" -v want="$want" -v kind="$kind" 'BEGIN {
      ok = (kind == "ratio") ? got >= want : got <= want
      near = (kind == "ratio") ? got >= want * 0.9 : got <= want * 1.1
      print ok ? "met" : (near ? "missed, within 10%" : "MISSED") }')
    [ "$verdict" = MISSED ] && status=1
  fi
  unit=""
  case "$kind" in p99_ms) unit=" ms" ;; rss_mb) unit=" MB" ;; esac
  label="$what"
  case "$kind" in p99_ms) label="p99 of $what" ;; rss_mb) label="peak RSS of $what" ;; esac
  printf '  %-40s %10s %10s  %s\n' "$label" "$sign $want$unit" "${got:--}$unit" "$verdict"
done
[ $status -eq 0 ] && echo "bench-check: every goal met or within 10% of it" ||
  echo "bench-check: some goals are missed by more than 10% (issue 17 is the plan)"
exit $status
