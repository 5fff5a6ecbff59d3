#!/usr/bin/env bash
# run-front.sh — `make run-front`: stage 9 the way production runs it, on one machine. Two taskd
# instances on one database (ports 8081 and 8082), each trusting nginx's X-Forwarded-For,
# the stage's other programs once, and nginx (front.sh) on the public port (PORT, 8080) in
# front of both. Ctrl-C or SIGTERM stops everything; so does either instance exiting.
#
# usage: run-front.sh TASKD [OTHER_PROGRAM...]   (from the repository's root)
set -uo pipefail
taskd=$1
shift
front_port=${PORT:-8080}
dir=.run/front
pids=()
stop_all() {
  bash weeks/09-nginx-monitoring/front/front.sh down "$dir"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM

# The first instance migrates the database at start-up; the second starts once it answers.
for port in 8081 8082; do
  PORT=$port TRUSTED_PROXIES=127.0.0.1 "$taskd" &
  pids+=("$!")
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    kill -0 "${pids[-1]}" 2>/dev/null || { echo "run-front: taskd on $port exited" >&2; stop_all; exit 1; }
    sleep 0.1
  done
done
for prog in "$@"; do
  PORT=8081 "$prog" &
  pids+=("$!")
done
mkdir -p "$dir"
bash weeks/09-nginx-monitoring/front/front.sh down "$dir"
if ! bash weeks/09-nginx-monitoring/front/front.sh up "$dir" --port "$front_port" 127.0.0.1:8081 127.0.0.1:8082; then
  stop_all
  exit 1
fi
echo "run-front: nginx on http://127.0.0.1:$front_port in front of taskd on 8081 and 8082" >&2
echo "run-front: logs: $dir/access.log (nginx), stderr here (taskd)" >&2
wait -n "${pids[0]}" "${pids[1]}"
status=$?
stop_all
exit $status
