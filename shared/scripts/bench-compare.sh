#!/usr/bin/env bash
# bench-compare.sh — compares variants of one stage (cache backends, server models...) under the
# same wrk load, next to an nginx `return 200` ceiling, in the same run.
#
# usage: BENCH_VARIANTS="NAME:SETTING[,SETTING...] ..." bench-compare.sh STAGE_BIN OUT_DIR
#   e.g. BENCH_VARIANTS="cache-redis:CACHE_BACKEND=redis no-cache:CACHE_BACKEND=none"
# A SETTING is NAME=VALUE, given to taskd's environment for that variant only; everything else
# (DATABASE_URL, REDIS_URL...) comes from our own environment, the same for every variant.
#
# The load is `GET /tasks/{id}` of one task. This machine is shared and noisy, so single timings
# mean little: every round runs nginx, then each variant in turn, and we report each variant's
# requests/s as a ratio to the nginx run of the same round and to the first variant of the same
# round. The medians of those ratios over the rounds are the numbers to compare.
# Each variant run starts its own taskd (on a free port, so a slow exit cannot collide), creates
# its task, warms it with one GET, checks X-Cache says what the variant promises (HIT with a
# cache, MISS without), runs wrk and stops taskd with SIGTERM.
#
# BENCH_SLOW_CLIENTS=N keeps N "slowloris" connections open during each variant's wrk run: they
# send a request one byte a second and never finish it. A thread-per-connection server spends a
# thread on each; an event loop only a few bytes of state.
#
# Tuning: BENCH_SECONDS (8), BENCH_CONNECTIONS (32), BENCH_ROUNDS (3), BENCH_WRK_THREADS (2),
# BENCH_LOG_LEVEL (warn: taskd logs one line per request at info, which would be measured too).
# Output: a table per round on stdout, medians at the end, OUT_DIR/compare.json.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: BENCH_VARIANTS=\"NAME:SETTING[,SETTING...] ...\" bench-compare.sh STAGE_BIN OUT_DIR" >&2
  exit 2
fi
stage=$1
out=$2
# shellcheck source=shared/scripts/bench-common.sh
. "$(dirname "$0")/bench-common.sh"
slow=${BENCH_SLOW_CLIENTS:-0}
log_level=${BENCH_LOG_LEVEL:-warn}

die() { echo "bench-compare: $*" >&2; exit 1; }

for v in secs conns rounds threads slow; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
if [ "$rounds" -lt 1 ] || [ "$secs" -lt 1 ] || [ "$conns" -lt 1 ]; then
  die "rounds, seconds and connections must be at least 1"
fi
[ -x "$stage" ] || die "no stage binary at $stage (build it first)"
for tool in wrk nginx curl; do
  command -v "$tool" >/dev/null || die "$tool not found; run \`bash shared/scripts/install-deps.sh bench\`"
done

# ---- the variants: names[i] and settings[i] (space-separated NAME=VALUE words) ----
names=()
settings=()
read -r -a specs <<< "${BENCH_VARIANTS:-}"
[ ${#specs[@]} -ge 1 ] || die "BENCH_VARIANTS is empty (e.g. \"redis:CACHE_BACKEND=redis none:CACHE_BACKEND=none\")"
for spec in "${specs[@]}"; do
  name=${spec%%:*}
  [[ $name =~ ^[A-Za-z0-9._+-]+$ ]] || die "bad variant name in '$spec' (letters, digits, . _ + -)"
  words=()
  if [[ $spec == *:* ]] && [ -n "${spec#*:}" ]; then
    IFS=, read -r -a words <<< "${spec#*:}"
  fi
  for w in "${words[@]}"; do
    [[ $w =~ ^[A-Z_][A-Z0-9_]*=[^\"\\]*$ ]] || die "bad setting '$w' in variant $name (NAME=VALUE)"
  done
  names+=("$name")
  settings+=("${words[*]}")
done

mkdir -p "$out/nginx/logs"
out=$(cd "$out" && pwd)


taskd_pid=""
slow_pid=""
wrk_pid=""
stop_taskd() {
  if [ -n "$taskd_pid" ]; then
    kill -TERM "$taskd_pid" 2>/dev/null || true
    wait "$taskd_pid" 2>/dev/null || true
    taskd_pid=""
  fi
}
stop_slow() {
  if [ -n "$slow_pid" ]; then
    kill -TERM "$slow_pid" 2>/dev/null || true
    wait "$slow_pid" 2>/dev/null || true
    slow_pid=""
  fi
}
cleanup() {
  if [ -n "$wrk_pid" ]; then kill "$wrk_pid" 2>/dev/null || true; fi
  stop_slow
  stop_taskd
  nginx_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM
nginx_start

# ---- slow clients (slowloris), one background bash process holding every connection ----
# Each connection sends "GET /tasks/1 HTTP/1.1\r\nHost: x\r\n" and then "X-Slow: 1\r\n" lines,
# one byte per connection per second, and never the empty line that would end the request. A
# connection the server answered or closed (readable: data or EOF) is closed and reopened. Every
# second the helper writes "OPEN REOPENED" to its status file.
slow_clients() { # slow_clients PORT COUNT STATUS_FILE
  local port=$1 count=$2 status=$3
  local head=$'GET /tasks/1 HTTP/1.1\r\nHost: x\r\n' filler=$'X-Slow: 1\r\n'
  local -a fds=() sent=()
  local reopened=0 open i fd n ch
  set +e
  trap '' PIPE # a write to a closed socket must fail with EPIPE, not kill us
  trap 'exit 0' TERM
  connect() { # connect INDEX: fds[INDEX] = a new connection, or -1
    local c
    if exec {c}<>"/dev/tcp/127.0.0.1/$port"; then fds[$1]=$c; else fds[$1]=-1; fi
    sent[$1]=0
  }
  reconnect() { # reconnect INDEX
    local c=${fds[$1]}
    if [ "$c" -ge 0 ]; then exec {c}>&-; fi
    reopened=$((reopened + 1))
    connect "$1"
  }
  for ((i = 0; i < count; i++)); do connect "$i"; done
  while :; do
    open=0
    for ((i = 0; i < count; i++)); do
      fd=${fds[$i]}
      if [ "$fd" -lt 0 ]; then connect "$i"; continue; fi
      if read -r -t 0 -u "$fd"; then # answered or closed by the server: a new one
        reconnect "$i"
        if [ "${fds[$i]}" -ge 0 ]; then open=$((open + 1)); fi
        continue
      fi
      n=${sent[$i]}
      if [ "$n" -lt ${#head} ]; then ch=${head:n:1}; else ch=${filler:(n - ${#head}) % ${#filler}:1}; fi
      if printf '%s' "$ch" >&"$fd"; then
        sent[i]=$((n + 1))
        open=$((open + 1))
      else
        reconnect "$i"
      fi
    done
    echo "$open $reopened" > "$status.tmp" && mv "$status.tmp" "$status"
    sleep 1
  done
}

# ---- measuring helpers ----
wrk_last="$out/wrk.last"
auth=() # set by bench_auth once a variant runs: nginx gets no header before then
# run_wrk URL [PID]: runs wrk into $wrk_last and sets rps, p99_ms, errors; with PID, also samples
# that process's threads and resident memory half-way through (threads, rss_mb).
run_wrk() {
  local url=$1 pid=${2:-}
  wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "${auth[@]}" "$url" > "$wrk_last" 2>&1 &
  wrk_pid=$!
  threads_now="-"
  rss_mb="-"
  if [ -n "$pid" ]; then
    sleep "$(awk -v s="$secs" 'BEGIN { print s / 2 }')"
    threads_now=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo "-")
    rss_mb=$(awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status" 2>/dev/null || echo "-")
  fi
  wait "$wrk_pid" || { wrk_pid=""; cat "$wrk_last" >&2; die "wrk failed against $url"; }
  wrk_pid=""
  if grep -q 'Non-2xx' "$wrk_last"; then
    cat "$wrk_last" >&2
    die "non-2xx answers from $url (above)"
  fi
  rps=$(awk '/Requests\/sec/ {print $2}' "$wrk_last")
  [ -n "$rps" ] || { cat "$wrk_last" >&2; die "no Requests/sec in wrk's output for $url"; }
  p99_ms=$(to_ms "$(awk '$1 == "99%" {print $2}' "$wrk_last")")
  errors=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$wrk_last")
  errors=${errors:-0}
}

# x_cache URL: the X-Cache header of a GET (the service has no HEAD), empty if absent.
x_cache() {
  curl -s -D - -o /dev/null "${auth[@]}" "$1" | tr -d '\r' | awk -F': *' 'tolower($1) == "x-cache" {print $2}'
}

# start_variant INDEX: starts taskd with the variant's settings; sets port, taskd_pid and id.
start_variant() {
  local i=$1 code="" attempt
  local -a env_words=()
  read -r -a env_words <<< "${settings[$i]}"
  for attempt in 1 2 3; do # a new port each time: another program may take ours before taskd binds
    port=$(free_port)
    env PORT="$port" LOG_LEVEL="$log_level" "${env_words[@]}" "$stage" \
      2>> "$out/taskd-${names[$i]}.log" &
    taskd_pid=$!
    for _ in $(seq 250); do
      kill -0 "$taskd_pid" 2>/dev/null || break
      code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health" || true)
      [ "$code" = 200 ] && break
      sleep 0.04
    done
    if [ "$code" = 200 ] && kill -0 "$taskd_pid" 2>/dev/null; then break; fi
    stop_taskd
    if [ "$attempt" = 3 ]; then
      tail -n 20 "$out/taskd-${names[$i]}.log" >&2
      die "taskd (${names[$i]}) did not start (log above: $out/taskd-${names[$i]}.log)"
    fi
  done
  bench_auth "http://127.0.0.1:$port" || die "taskd (${names[$i]}): could not log in"
  id=$(curl -s -X POST -H 'Content-Type: application/json' "${auth[@]}" \
    -d '{"title":"Benchmark task","description":"read me many times","tags":["bench"]}' \
    "http://127.0.0.1:$port/tasks" | grep -o '"id":[0-9]*' | head -n 1 | cut -d: -f2 || true)
  [ -n "$id" ] || die "taskd (${names[$i]}) could not create a task"
}

# check_cache INDEX: after the warm-up GET, a cache variant must answer HIT and `none` MISS.
# The backend is the variant's CACHE_BACKEND, else ours, else taskd's default (redis); a stage
# that sends no X-Cache and is told nothing about caches is not checked.
check_cache() {
  local i=$1 backend="${CACHE_BACKEND:-}" w want got
  for w in ${settings[$i]}; do
    if [[ $w == CACHE_BACKEND=* ]]; then backend=${w#CACHE_BACKEND=}; fi
  done
  got=$(x_cache "http://127.0.0.1:$port/tasks/$id")
  if [ -z "$got" ] && [ -z "$backend" ]; then cache_state="-"; return; fi
  want=HIT
  if [ "$backend" = none ]; then want=MISS; fi
  [ "$got" = "$want" ] || die "variant ${names[$i]}: X-Cache after warm-up is '${got:-absent}', expected $want"
  cache_state=$got
}

row() { # one line of a round's table; the vs-first column is as wide as its heading
  printf "%-5s %-16s %10s %9s %9s %${first_w}s %5s %8s %7s %9s %7s %6s\n" "$@"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "0" }'; }

# ---- the rounds ----
first=${names[0]}
first_w=$((${#first} + 1 > 9 ? ${#first} + 1 : 9))
store=${DATABASE_URL:-}
store=${store%%:*}
echo "bench-compare: GET /tasks/{id}, wrk -t$threads -c$conns -d${secs}s, $rounds rounds, stage $(basename "$(dirname "$stage")"), store ${store}, slow clients $slow, taskd LOG_LEVEL=$log_level"
for i in "${!names[@]}"; do echo "  variant ${names[$i]}: ${settings[$i]:-(stage defaults)}"; done
json_rounds=()
declare -A ratios_nginx=() ratios_first=()
for r in $(seq "$rounds"); do
  echo
  echo "round $r"
  row round variant req/s p99-ms /nginx "/$first" cache threads RSS-MB slow-open reopen errors
  run_wrk "http://127.0.0.1:$nginx_port/"
  n_rps=$rps
  row "$r" nginx "$n_rps" "$p99_ms" 1.000 "" "" "" "" "" "" "$errors"
  json_variants=()
  first_rps=""
  for i in "${!names[@]}"; do
    start_variant "$i"
    curl -s -o /dev/null "${auth[@]}" "http://127.0.0.1:$port/tasks/$id" # warm the cache
    check_cache "$i"
    slow_state="-"
    slow_reopen="-"
    if [ "$slow" -gt 0 ]; then
      rm -f "$out/slow.status"
      slow_clients "$port" "$slow" "$out/slow.status" 2>> "$out/slow.log" &
      slow_pid=$!
      # Give every slow connection time to connect and send its first bytes.
      for _ in $(seq 50); do
        if [ -f "$out/slow.status" ] && [ "$(cut -d' ' -f1 "$out/slow.status")" -ge "$slow" ]; then break; fi
        sleep 0.1
      done
    fi
    run_wrk "http://127.0.0.1:$port/tasks/$id" "$taskd_pid"
    if [ "$slow" -gt 0 ]; then
      read -r slow_open slow_reopened < "$out/slow.status" || { slow_open=0; slow_reopened=0; }
      slow_state="$slow_open/$slow"
      slow_reopen=$slow_reopened
      stop_slow
    fi
    stop_taskd
    [ -n "$first_rps" ] || first_rps=$rps
    rn=$(ratio "$rps" "$n_rps")
    rf=$(ratio "$rps" "$first_rps")
    ratios_nginx[$i]+="$rn "
    ratios_first[$i]+="$rf "
    row "$r" "${names[$i]}" "$rps" "$p99_ms" "$rn" "$rf" "$cache_state" "$threads_now" "$rss_mb" "$slow_state" "$slow_reopen" "$errors"
    json_variants+=("{\"variant\":\"${names[$i]}\",\"rps\":$rps,\"p99_ms\":$p99_ms,\"ratio_nginx\":$rn,\"ratio_first\":$rf,\"x_cache\":\"$cache_state\",\"threads\":\"$threads_now\",\"rss_mb\":\"$rss_mb\",\"slow_open\":${slow_open:-0},\"slow_reopened\":${slow_reopened:-0},\"socket_errors\":$errors}")
  done
  json_rounds+=("{\"round\":$r,\"nginx_rps\":$n_rps,\"variants\":[$(IFS=,; echo "${json_variants[*]}")]}")
done

echo
echo "bench-compare: median ratios over $rounds rounds (higher is better)"
printf "  %-16s %10s %$((first_w + 3))s\n" variant /nginx "/$first"
json_medians=()
for i in "${!names[@]}"; do
  mn=$(tr ' ' '\n' <<< "${ratios_nginx[$i]}" | grep . | median)
  mf=$(tr ' ' '\n' <<< "${ratios_first[$i]}" | grep . | median)
  printf "  %-16s %10s %$((first_w + 3))s\n" "${names[$i]}" "$mn" "$mf"
  json_medians+=("{\"variant\":\"${names[$i]}\",\"settings\":\"${settings[$i]}\",\"median_ratio_nginx\":$mn,\"median_ratio_first\":$mf}")
done
printf '{"endpoint":"GET /tasks/{id}","connections":%s,"seconds":%s,"wrk_threads":%s,"slow_clients":%s,"store":"%s","first":"%s","medians":[%s],"rounds":[%s]}\n' \
  "$conns" "$secs" "$threads" "$slow" "$store" "$first" \
  "$(IFS=,; echo "${json_medians[*]}")" "$(IFS=,; echo "${json_rounds[*]}")" > "$out/compare.json"
echo "bench-compare: wrote $out/compare.json"
