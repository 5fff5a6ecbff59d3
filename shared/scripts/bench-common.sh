#!/usr/bin/env bash
# bench-common.sh — sourced by bench.sh, bench-compare.sh and week 7's bench-events.sh: the wrk
# load they use (BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_ROUNDS, BENCH_WRK_THREADS), the nginx
# `return 200` ceiling that every benchmark measures taskd against, the free port it listens on,
# and small helpers (wrk durations in ms, medians, a logged-in user's token for stage 4 on).
# The nginx functions need $out (the benchmark's output directory, absolute) and nginx on PATH;
# nginx_start sets $nginx_port. The settings are read by the sourcing script, which also sets $out:
# shellcheck disable=SC2034,SC2154
secs=${BENCH_SECONDS:-8}
conns=${BENCH_CONNECTIONS:-32}
rounds=${BENCH_ROUNDS:-3}
threads=${BENCH_WRK_THREADS:-2}
PATH=$PATH:/usr/sbin

# free_port: shared/scripts/ports.sh (a port below the kernel's ephemeral range that no socket
# has). Callers still retry: someone may take the port before we bind it.
# shellcheck source=shared/scripts/ports.sh
. "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

write_nginx_conf() { # write_nginx_conf PORT
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
    listen 127.0.0.1:$1;
    location / { default_type application/json; return 200 '{"status":"ok"}'; }
  }
}
CONF
}

# Starts nginx on a free port (five tries: the port may be taken between the check and the bind).
nginx_start() {
  mkdir -p "$out/nginx/logs"
  rm -f "$out/nginx/nginx.pid" # a stale one would make nginx_stop signal whoever has that pid now
  for _ in 1 2 3 4 5; do
    nginx_port=$(free_port)
    write_nginx_conf "$nginx_port"
    if nginx -p "$out/nginx" -c "$out/nginx/nginx.conf" 2>> "$out/nginx/logs/start.log"; then return; fi
  done
  tail -n 5 "$out/nginx/logs/start.log" >&2
  echo "bench: nginx did not start" >&2
  exit 1
}

nginx_stop() {
  if [ -f "$out/nginx/nginx.pid" ]; then
    nginx -p "$out/nginx" -c "$out/nginx/nginx.conf" -s stop 2>/dev/null || true
  fi
}

to_ms() { # a wrk duration (812.00us, 1.53ms, 2.01s) -> milliseconds
  awk -v d="$1" 'BEGIN { v = d + 0; if (d ~ /us$/) v /= 1000; else if (d ~ /[0-9]s$/) v *= 1000;
                         else if (d ~ /m$/) v *= 60000; printf "%.2f", v }'
}

median() { # numbers on stdin -> their median (the mean of the middle two for an even count)
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) printf "%.3f", v[(NR + 1) / 2];
                                      else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# From stage 4 every task route needs `Authorization: Bearer <access token>`. bench_login BASE_URL
# registers a user of its own on the taskd at BASE_URL, logs in as that user and prints the access
# token (ACCESS_TOKEN_TTL_SECONDS, 900 by default: longer than any run here). A benchmark of a
# stage before 4 does not call it: those stages have no /auth routes.
bench_login() {
  local base=$1 creds body code
  creds="{\"email\":\"bench-$$-$RANDOM@example.com\",\"password\":\"bench-password-$$-$RANDOM\"}"
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d "$creds" "$base/auth/register")
  [ "$code" = 201 ] || { echo "bench: POST /auth/register answered $code" >&2; return 1; }
  body=$(curl -s -X POST -H 'Content-Type: application/json' -d "$creds" "$base/auth/login")
  case "$body" in
    *'"access_token":"'*)
      body=${body#*\"access_token\":\"}
      echo "${body%%\"*}"
      ;;
    *) echo "bench: POST /auth/login gave no access token: $body" >&2; return 1 ;;
  esac
}

# bench_auth BASE_URL: sets the array auth to the curl/wrk arguments of a logged-in request
# (-H "Authorization: Bearer <token>") when the stage at BASE_URL has /auth routes (stage 4 on),
# and to nothing when it has none (POST /auth/register answers 404). Fails when the login fails.
bench_auth() {
  local code token
  auth=()
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d '{}' "$1/auth/register")
  [ "$code" = 404 ] && return 0
  token=$(bench_login "$1") || return 1
  auth=(-H "Authorization: Bearer $token")
}
