#!/usr/bin/env bash
# smoke-run.sh — proves the README's first command works: `make run` serves the newest stage
# and curl can create, read, change and delete a task through it.
#
# Runs `make run` on a free port with a throwaway DATABASE_URL, like a learner would, then stops
# it with Ctrl-C (SIGINT) and checks it exits cleanly. Called by `make test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
port=""
for _ in $(seq 100); do
  p=$((20000 + RANDOM % 20000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "smoke-run: no free port"; exit 1; }
dir=$(mktemp -d /tmp/taskd-smoke-XXXXXX)
log="$dir/run.log"
# A store of its own, unless the stage needs a service (then make run provides DATABASE_URL).
if [ -z "${SMOKE_KEEP_DATABASE_URL:-}" ]; then export DATABASE_URL="sqlite:$dir/taskd.db"; fi
PORT=$port setsid make --no-print-directory run > "$log" 2>&1 &
pid=$!
stop() { kill -INT -- "-$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
fail() { echo "smoke-run: $*"; echo "---- make run output ----"; tail -20 "$log"; stop; rm -rf "$dir"; exit 1; }
base="http://127.0.0.1:$port"
for _ in $(seq 300); do
  curl -sf "$base/health" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || fail "make run exited before serving"
  sleep 0.1
done
curl -sf "$base/health" >/dev/null || fail "no answer on $base/health within 30 s"
auth=()
code() { curl -s -o "$dir/body" -w '%{http_code}' "${auth[@]}" "$@"; }
# From week 4 every task route needs a logged-in user: register one and log in, like a learner.
if [ -n "${SMOKE_AUTH:-}" ]; then
  creds="{\"email\":\"smoke-$$@example.com\",\"password\":\"smoke-password-$$\"}"
  c=$(code -X POST "$base/auth/register" -H 'Content-Type: application/json' -d "$creds")
  [ "$c" = 201 ] || fail "POST /auth/register answered $c: $(cat "$dir/body")"
  c=$(code -X POST "$base/auth/login" -H 'Content-Type: application/json' -d "$creds")
  [ "$c" = 200 ] || fail "POST /auth/login answered $c: $(cat "$dir/body")"
  token=$(sed 's/.*"access_token":"\([^"]*\)".*/\1/' "$dir/body")
  auth=(-H "Authorization: Bearer $token")
fi
c=$(code -X POST "$base/tasks" -H 'Content-Type: application/json' -d '{"title":"smoke"}')
[ "$c" = 201 ] || fail "POST /tasks answered $c: $(cat "$dir/body")"
id=$(grep -o '"id":[0-9]*' "$dir/body" | cut -d: -f2)
c=$(code "$base/tasks/$id"); [ "$c" = 200 ] || fail "GET /tasks/$id answered $c"
c=$(code -X PATCH "$base/tasks/$id" -H 'Content-Type: application/json' -H 'If-Match: "1"' -d '{"status":"done"}')
[ "$c" = 200 ] || fail "PATCH /tasks/$id answered $c: $(cat "$dir/body")"
c=$(code -X DELETE "$base/tasks/$id"); [ "$c" = 204 ] || fail "DELETE /tasks/$id answered $c"
c=$(code "$base/tasks/$id"); [ "$c" = 404 ] || fail "GET after DELETE answered $c"
# From week 3, make run also starts taskd-worker: an export must be done by it.
if [ -n "${SMOKE_EXPECT_WORKER:-}" ]; then
  c=$(code -X POST "$base/exports"); [ "$c" = 202 ] || fail "POST /exports answered $c: $(cat "$dir/body")"
  job=$(grep -o '"id":[0-9]*' "$dir/body" | cut -d: -f2)
  for _ in $(seq 150); do
    code "$base/jobs/$job" >/dev/null
    grep -q '"status":"succeeded"' "$dir/body" && break
    sleep 0.1
  done
  grep -q '"status":"succeeded"' "$dir/body" || fail "export job $job not done by the worker within 15 s: $(cat "$dir/body")"
  c=$(code "$base/exports/$job.csv"); [ "$c" = 200 ] || fail "GET /exports/$job.csv answered $c"
  head -1 "$dir/body" | grep -q '^id,title,' || fail "the export has no CSV header"
fi
kill -INT -- "-$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
grep -q '"msg":"stopped"' "$log" || fail "taskd did not log a clean stop after Ctrl-C"
rm -rf "$dir"
echo "smoke-run: make run served POST/GET/PATCH/DELETE${SMOKE_EXPECT_WORKER:+ and an export done by its worker} on port $port and stopped cleanly on Ctrl-C"
