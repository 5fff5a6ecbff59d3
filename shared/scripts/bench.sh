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
secs=${BENCH_SECONDS:-8}
conns=${BENCH_CONNECTIONS:-32}
rounds=${BENCH_ROUNDS:-3}
threads=${BENCH_WRK_THREADS:-2}
mkdir -p "$out/nginx/logs"
out=$(cd "$out" && pwd)
PATH=$PATH:/usr/sbin

free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "bench: no free port found" >&2; exit 1
}

nginx_port=$(free_port)
cat > "$out/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $out/nginx/nginx.pid;
error_log $out/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $out/nginx/body;
  proxy_temp_path $out/nginx/proxy;
  fastcgi_temp_path $out/nginx/fastcgi;
  uwsgi_temp_path $out/nginx/uwsgi;
  scgi_temp_path $out/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { default_type application/json; return 200 '{"status":"ok"}'; }
  }
}
CONF
db=$(mktemp -d /tmp/taskd-bench-XXXXXX)
cleanup() {
  [ -n "${taskd_pid:-}" ] && kill "$taskd_pid" 2>/dev/null && wait "$taskd_pid" 2>/dev/null
  [ -f "$out/nginx/nginx.pid" ] && nginx -p "$out/nginx" -c "$out/nginx/nginx.conf" -s stop 2>/dev/null
  rm -rf "$db"
}
trap cleanup EXIT
nginx -p "$out/nginx" -c "$out/nginx/nginx.conf"

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
id=$(curl -s -X POST -H 'Content-Type: application/json' \
  -d '{"title":"Benchmark task","description":"read me many times","tags":["bench"]}' \
  "http://127.0.0.1:$port/tasks" | grep -o '"id":[0-9]*' | cut -d: -f2)
[ -n "$id" ] || { echo "bench: could not create a task"; exit 1; }

rps() { # url -> requests/s
  wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "$1" > "$out/wrk.last" 2>&1
  grep -q 'Non-2xx' "$out/wrk.last" && { echo "bench: non-2xx answers from $1" >&2; cat "$out/wrk.last" >&2; exit 1; }
  awk '/Requests\/sec/ {print $2}' "$out/wrk.last"
}
p99() { awk '$1=="99%" {print $2}' "$out/wrk.last"; }

echo "bench: wrk -t$threads -c$conns -d${secs}s, $rounds alternating rounds (taskd: $(basename "$(dirname "$stage")"), HTTP_MODE=${HTTP_MODE:-pool})"
printf '%-7s %14s %10s %14s %10s %8s\n' round nginx_req/s p99 taskd_req/s p99 ratio
results=()
for r in $(seq "$rounds"); do
  n=$(rps "http://127.0.0.1:$nginx_port/"); np=$(p99)
  t=$(rps "http://127.0.0.1:$port/tasks/$id"); tp=$(p99)
  ratio=$(awk -v t="$t" -v n="$n" 'BEGIN { printf "%.3f", t / n }')
  printf '%-7s %14s %10s %14s %10s %8s\n' "$r" "$n" "$np" "$t" "$tp" "$ratio"
  results+=("{\"round\":$r,\"nginx_rps\":$n,\"taskd_rps\":$t,\"ratio\":$ratio}")
done
median=$(printf '%s\n' "${results[@]}" | grep -o '"ratio":[0-9.]*' | cut -d: -f2 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "bench: GET /tasks/{id} on taskd runs at $median × nginx's return-200 ceiling (median of $rounds rounds)"
printf '{"endpoint":"GET /tasks/{id}","connections":%s,"seconds":%s,"median_ratio":%s,"rounds":[%s]}\n' \
  "$conns" "$secs" "$median" "$(IFS=,; echo "${results[*]}")" > "$out/bench.json"
