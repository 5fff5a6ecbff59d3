#!/usr/bin/env bash
# bench.sh — measures a stage with wrk next to an nginx `return 200` ceiling, in the same run.
#
# usage: bench.sh STAGE_BIN OUT_DIR
# This machine is shared and noisy, so single timings mean little: we alternate nginx and taskd
# rounds under the same wrk load and report requests/s for each and their ratio. The ratio
# (taskd / nginx) is the number to compare between commits. BENCH_SECONDS, BENCH_CONNECTIONS and
# BENCH_ROUNDS tune the run; HTTP_MODE / HTTP_THREADS are passed to taskd.
set -euo pipefail
stage=$1
out=$2
# shellcheck source=shared/scripts/bench-common.sh
. "$(dirname "$0")/bench-common.sh"
mkdir -p "$out/nginx/logs"
out=$(cd "$out" && pwd)
db=$(mktemp -d /tmp/taskd-bench-XXXXXX)
cleanup() {
  [ -n "${taskd_pid:-}" ] && kill "$taskd_pid" 2>/dev/null && wait "$taskd_pid" 2>/dev/null
  nginx_stop
  rm -rf "$db"
}
trap cleanup EXIT
nginx_start

PORT=0 DATABASE_URL="${DATABASE_URL:-sqlite:$db/taskd.db}" LOG_LEVEL=info \
  "$stage" 2> "$out/taskd.log" &
taskd_pid=$!
port=""
for _ in $(seq 500); do
  port=$(grep -o '"msg":"listening".*"port":[0-9]*' "$out/taskd.log" 2>/dev/null | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  sleep 0.02
done
[ -n "$port" ] || { echo "bench: taskd did not start"; cat "$out/taskd.log"; exit 1; }
bench_auth "http://127.0.0.1:$port" || { echo "bench: could not log in (stage 4 on needs a user)"; exit 1; }
id=$(curl -s -X POST -H 'Content-Type: application/json' "${auth[@]}" \
  -d '{"title":"Benchmark task","description":"read me many times","tags":["bench"]}' \
  "http://127.0.0.1:$port/tasks" | grep -o '"id":[0-9]*' | cut -d: -f2)
[ -n "$id" ] || { echo "bench: could not create a task"; exit 1; }

# A page to list, and the POST body wrk sends.
for _ in $(seq 40); do
  curl -s -o /dev/null -X POST -H 'Content-Type: application/json' "${auth[@]}" \
    -d '{"title":"Listed task","tags":["bench"],"priority":"high"}' "http://127.0.0.1:$port/tasks"
done
# The memory goal is about serving: from stage 4 the setup's login above runs one argon2id hash,
# which takes 64 MiB for a moment by design (week 4, API.md's cost). Its peak is kept and
# reported, then the kernel's high-water mark is reset (clear_refs 5, Linux 4.0+), so the peak
# printed at the end is the rounds' own. Where the reset is refused, the peak covers both.
setup_rss_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$taskd_pid/status" 2>/dev/null || echo 0)
hwm_reset=0
if echo 5 2>/dev/null > "/proc/$taskd_pid/clear_refs"; then hwm_reset=1; fi
cat > "$out/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"title":"Benchmark task","description":"written by wrk","tags":["bench"]}'
LUA

rps() { # url [wrk args...] -> requests/s
  local url=$1; shift
  wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "$@" "$url" > "$out/wrk.last" 2>&1
  grep -q 'Non-2xx' "$out/wrk.last" && { echo "bench: non-2xx answers from $url" >&2; cat "$out/wrk.last" >&2; exit 1; }
  awk '/Requests\/sec/ {print $2}' "$out/wrk.last"
}
p99() { awk '$1=="99%" {print $2}' "$out/wrk.last"; }
# wrk's "850.00us", "9.73ms" or "1.02s" in milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/) n *= 1000; printf "%.2f", n }'; }

# On PostgreSQL, the database's own speed for the same statements, with as many connections as
# wrk uses (pgbench, prepared statements): how close the service gets to what the database can
# do. The INSERT of POST /tasks (as owner 0, so that pgbench's rows stay out of the listed
# page), and the first page of GET /tasks?limit=20 (the columns and order taskd asks for, one
# row more than the page, the bench user's tasks).
case "${DATABASE_URL:-}" in postgres://* | postgresql://*)
  pg_bin=$(bash "$(dirname "$0")/services.sh" pg-bin 2>/dev/null || dirname "$(command -v pgbench)")
  owner=$("$pg_bin/psql" -qXAt -c "SELECT owner_id FROM tasks WHERE id = $id" "$DATABASE_URL")
  [ -n "$owner" ] || { echo "bench: cannot read the bench task's owner from the database" >&2; exit 1; }
  columns="id, owner_id, title, description, status, priority, ts_to_us(due_at), array_to_json(tags)::text, version, ts_to_us(created_at), ts_to_us(updated_at)"
  cat > "$out/insert.sql" <<SQL
INSERT INTO tasks (owner_id, title, description, status, priority, due_at, tags, version, created_at, updated_at)
VALUES (0, 'Benchmark task', 'written by pgbench', 'todo', 1, NULL, ARRAY['bench'], 1, now(), now())
RETURNING $columns;
SQL
  cat > "$out/list.sql" <<SQL
SELECT $columns FROM tasks WHERE owner_id = $owner ORDER BY created_at, id LIMIT 21;
SQL
  pgbench_run() { # SCRIPT -> transactions/s
    "$pg_bin/pgbench" -n -M prepared -c "$conns" -j "$threads" -T "$secs" -f "$1" "$DATABASE_URL" \
      2>/dev/null | awk '/^tps = / {printf "%.0f\n", $3}'
  }
  ;;
esac

echo "bench: wrk -t$threads -c$conns -d${secs}s, $rounds alternating rounds (taskd: $(basename "$(dirname "$stage")"), HTTP_MODE=${HTTP_MODE:-pool}, store ${DATABASE_URL%%:*})"
printf '%-6s %-22s %12s %10s %12s %8s\n' round endpoint req/s p99 ceiling ratio
results=()
# result ENDPOINT RPS P99 CEILING CEILING_RPS: prints the row and keeps it for bench.json.
result() {
  local ratio
  ratio=$(awk -v t="$2" -v n="$5" 'BEGIN { printf "%.3f", t / n }')
  printf '%-6s %-22s %12s %10s %12s %8s\n' "$r" "$1" "$2" "$3" "$4" "$ratio"
  results+=("{\"round\":$r,\"endpoint\":\"$1\",\"rps\":$2,\"p99_ms\":$(to_ms "${3:-0}"),\"ceiling\":\"$4\",\"ceiling_rps\":$5,\"ratio\":$ratio}")
}
for r in $(seq "$rounds"); do
  n=$(rps "http://127.0.0.1:$nginx_port/"); np=$(p99)
  printf '%-6s %-22s %12s %10s %12s %8s\n' "$r" "nginx return 200" "$n" "$np" "" ""
  h=$(rps "http://127.0.0.1:$port/health"); hp=$(p99)
  result "GET /health" "$h" "$hp" nginx "$n"
  for ep in "GET /tasks/{id}" "GET /tasks?limit=20" "POST /tasks"; do
    case "$ep" in
      "GET /tasks/{id}") t=$(rps "http://127.0.0.1:$port/tasks/$id" "${auth[@]}") ;;
      "GET /tasks?limit=20") t=$(rps "http://127.0.0.1:$port/tasks?limit=20" "${auth[@]}") ;;
      "POST /tasks") t=$(rps "http://127.0.0.1:$port/tasks" -s "$out/post.lua" "${auth[@]}") ;;
    esac
    tp=$(p99)
    result "$ep" "$t" "$tp" nginx "$n"
    [ "$ep" = "GET /tasks/{id}" ] && result "$ep" "$t" "$tp" "GET /health" "$h"
    if declare -F pgbench_run >/dev/null && [ "$ep" != "GET /tasks/{id}" ]; then
      script="$out/insert.sql" what="pgbench same INSERT"
      [ "$ep" = "POST /tasks" ] || script="$out/list.sql" what="pgbench same SELECT"
      pg=$(pgbench_run "$script")
      [ -n "$pg" ] || { echo "bench: pgbench failed ($script)" >&2; exit 1; }
      printf '%-6s %-22s %12s\n' "$r" "$what" "$pg"
      result "$ep" "$t" "$tp" pgbench "$pg"
    fi
  done
done
# taskd's peak resident memory over the rounds (the kernel's high-water mark, reset after setup).
rss_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$taskd_pid/status" 2>/dev/null || echo 0)
if [ "$hwm_reset" = 1 ]; then
  echo "bench: taskd's peak RSS $((rss_kb / 1024)) MB while serving the rounds ($((setup_rss_kb / 1024)) MB during the setup, its login's password hash included)"
else
  echo "bench: taskd's peak RSS $((rss_kb / 1024)) MB, the setup included (the high-water mark could not be reset)"
fi
# Median ratio per (endpoint, ceiling) over the rounds (the upper median for an even count).
summary=$(printf '%s\n' "${results[@]}" | jq -rs '
  group_by(.endpoint + " vs " + .ceiling)[]
  | (map(.ratio) | sort) as $r
  | "\(.[0].endpoint) vs \(.[0].ceiling): \($r[($r | length) / 2 | floor])"')
echo "bench: median ratios over $rounds rounds (higher is better):"
while IFS= read -r line; do echo "  $line"; done <<< "$summary"
printf '{"connections":%s,"seconds":%s,"store":"%s","stage":"%s","peak_rss_kb":%s,"setup_peak_rss_kb":%s,"peak_rss_covers_setup":%s,"rounds":[%s]}\n' \
  "$conns" "$secs" "${DATABASE_URL%%:*}" "$(basename "$(dirname "$stage")")" "$rss_kb" "$setup_rss_kb" \
  "$([ "$hwm_reset" = 1 ] && echo false || echo true)" \
  "$(IFS=,; echo "${results[*]}")" > "$out/bench.json"
