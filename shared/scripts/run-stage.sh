#!/usr/bin/env bash
# run-stage.sh — `make run` for a stage made of several programs (week 3 on: taskd and
# taskd-worker). Starts the API, waits until it answers /health (it migrates the database at
# start-up, which the other programs need), then starts the others with the same environment.
# Ctrl-C or SIGTERM stops them all cleanly; when the API exits, the others are stopped too.
# With METRICS_PORT set, the other programs get METRICS_PORT, METRICS_PORT+1, ... in turn.
#
# usage: run-stage.sh TASKD [OTHER_PROGRAM...]
set -uo pipefail
taskd=$1
shift
port=${PORT:-8080}
pids=()
stop_all() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM

"$taskd" &
api=$!
pids+=("$api")
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 "$api" 2>/dev/null || { wait "$api"; exit $?; }
  sleep 0.1
done
# METRICS_PORT (week 9: a background program's own GET /metrics) cannot be one port for every
# program: each gets the next one up, in the order they start.
metrics_port=${METRICS_PORT:-}
for prog in "$@"; do
  if [ -n "$metrics_port" ]; then
    METRICS_PORT=$metrics_port "$prog" &
    pids+=("$!")
    echo "run-stage: started $(basename "$prog") (pid $!, metrics on port $metrics_port)" >&2
    metrics_port=$((metrics_port + 1))
  else
    "$prog" &
    pids+=("$!")
    echo "run-stage: started $(basename "$prog") (pid $!)" >&2
  fi
done
wait "$api"
status=$?
stop_all
exit $status
