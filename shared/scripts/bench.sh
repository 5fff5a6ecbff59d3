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

# On PostgreSQL, the database's own speed for the same INSERT, with as many connections as wrk
# uses (pgbench, prepared statements): how close the service gets to what the database can do.
case "${DATABASE_URL:-}" in postgres://* | postgresql://*)
  pg_bin=$(bash "$(dirname "$0")/services.sh" pg-bin 2>/dev/null || dirname "$(command -v pgbench)")
  cat > "$out/insert.sql" <<'SQL'
INSERT INTO tasks (owner_id, title, description, status, priority, due_at, tags, version, created_at, updated_at)
VALUES (0, 'Benchmark task', 'written by pgbench', 'todo', 1, NULL, ARRAY['bench'], 1, now(), now())
RETURNING id, owner_id, title, description, status, priority, ts_to_us(due_at), array_to_json(tags)::text, version, ts_to_us(created_at), ts_to_us(updated_at);
SQL
  pgbench_run() {
    "$pg_bin/pgbench" -n -M prepared -c "$conns" -j "$threads" -T "$secs" -f "$out/insert.sql" "$DATABASE_URL" \
      2>/dev/null | awk '/^tps = / {printf "%.0f\n", $3}'
  }
  ;;
esac

echo "bench: wrk -t$threads -c$conns -d${secs}s, $rounds alternating rounds (taskd: $(basename "$(dirname "$stage")"), HTTP_MODE=${HTTP_MODE:-pool}, store ${DATABASE_URL%%:*})"
printf '%-6s %-22s %12s %10s %12s %8s\n' round endpoint req/s p99 ceiling ratio
results=()
for r in $(seq "$rounds"); do
  n=$(rps "http://127.0.0.1:$nginx_port/"); np=$(p99)
  printf '%-6s %-22s %12s %10s %12s %8s\n' "$r" "nginx return 200" "$n" "$np" "" ""
  for ep in "GET /tasks/{id}" "GET /tasks?limit=20" "POST /tasks"; do
    case "$ep" in
      "GET /tasks/{id}") t=$(rps "http://127.0.0.1:$port/tasks/$id" "${auth[@]}") ;;
      "GET /tasks?limit=20") t=$(rps "http://127.0.0.1:$port/tasks?limit=20" "${auth[@]}") ;;
      "POST /tasks") t=$(rps "http://127.0.0.1:$port/tasks" -s "$out/post.lua" "${auth[@]}") ;;
    esac
    tp=$(p99)
    ratio=$(awk -v t="$t" -v n="$n" 'BEGIN { printf "%.3f", t / n }')
    printf '%-6s %-22s %12s %10s %12s %8s\n' "$r" "$ep" "$t" "$tp" "nginx" "$ratio"
    results+=("{\"round\":$r,\"endpoint\":\"$ep\",\"rps\":$t,\"ceiling\":\"nginx\",\"ceiling_rps\":$n,\"ratio\":$ratio}")
    if [ "$ep" = "POST /tasks" ] && declare -F pgbench_run >/dev/null; then
      pg=$(pgbench_run)
      [ -n "$pg" ] || { echo "bench: pgbench failed" >&2; exit 1; }
      pr=$(awk -v t="$t" -v n="$pg" 'BEGIN { printf "%.3f", t / n }')
      printf '%-6s %-22s %12s %10s %12s %8s\n' "$r" "pgbench same INSERT" "$pg" "" "POST/pgbench" "$pr"
      results+=("{\"round\":$r,\"endpoint\":\"POST /tasks\",\"rps\":$t,\"ceiling\":\"pgbench\",\"ceiling_rps\":$pg,\"ratio\":$pr}")
    fi
  done
done
# Median ratio per (endpoint, ceiling) over the rounds.
summary=$(printf '%s\n' "${results[@]}" | awk -F'"' '{
    ep = $6; ce = $12; match($0, /"ratio":[0-9.]+/); v = substr($0, RSTART + 8, RLENGTH - 8) + 0
    key = ep " vs " ce; n[key]++; val[key, n[key]] = v; if (!(key in seen)) { seen[key] = 1; order[++k] = key } }
  END { for (i = 1; i <= k; i++) { key = order[i]; m = n[key]
          for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++) if (val[key, b] < val[key, a]) { t = val[key, a]; val[key, a] = val[key, b]; val[key, b] = t }
          printf "%s: %.3f\n", key, val[key, int((m + 1) / 2)] } }')
echo "bench: median ratios over $rounds rounds (higher is better):"
while IFS= read -r line; do echo "  $line"; done <<< "$summary"
printf '{"connections":%s,"seconds":%s,"store":"%s","rounds":[%s]}\n' \
  "$conns" "$secs" "${DATABASE_URL%%:*}" "$(IFS=,; echo "${results[*]}")" > "$out/bench.json"
