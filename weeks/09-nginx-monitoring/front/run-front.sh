#!/usr/bin/env bash
# run-front.sh — `make run-front`: stage 9 the way production runs it, on one machine. Two taskd
# instances on one database (ports 8081 and 8082), each trusting nginx's X-Forwarded-For,
# the stage's other programs once (the worker and the consumers with a metrics port each),
# nginx (front.sh) on the public port (PORT, 8080) in front of
# both, and Prometheus and Alertmanager (monitoring/monitor.sh) watching them, with alerts
# mailed to the SMTP sink. FRONT_TLS=selfsigned serves HTTPS with `make tls-selfsigned`'s
# certificate; FRONT_TLS=acme gets one for taskd.test from pebble through certbot (acme.sh).
# Ctrl-C or SIGTERM stops everything; so does either instance exiting.
#
# usage: run-front.sh TASKD [OTHER_PROGRAM...]   (from the repository's root)
set -uo pipefail
taskd=$1
shift
front_port=${PORT:-8080}
dir=.run/front
mon=.run/monitor
acme=.run/acme
pids=()
stop_all() {
  bash weeks/09-nginx-monitoring/front/acme.sh down "$acme"
  bash weeks/09-nginx-monitoring/monitoring/monitor.sh down "$mon"
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
# The worker and the consumers serve their own metrics, from port 9464 up, for Prometheus's
# taskd-worker and taskd-consumers jobs (decision 0041); the relay is watched through taskd's
# outbox_pending.
metrics_port=9464
worker_targets=()
consumer_targets=()
for prog in "$@"; do
  case $(basename "$prog") in
    taskd-worker) worker_targets+=("127.0.0.1:$metrics_port") ;;
    taskd-notifier | taskd-projector) consumer_targets+=("127.0.0.1:$metrics_port") ;;
    *)
      PORT=8081 "$prog" &
      pids+=("$!")
      continue
      ;;
  esac
  PORT=8081 METRICS_PORT=$metrics_port "$prog" &
  pids+=("$!")
  metrics_port=$((metrics_port + 1))
done
mkdir -p "$dir"
bash weeks/09-nginx-monitoring/front/front.sh down "$dir"
if ! front_urls=$(bash weeks/09-nginx-monitoring/front/front.sh up "$dir" --port "$front_port" 127.0.0.1:8081 127.0.0.1:8082); then
  stop_all
  exit 1
fi
status_url=$(awk '/^status-url/ {print $2}' <<<"$front_urls")
bash weeks/09-nginx-monitoring/monitoring/monitor.sh down "$mon"
if ! urls=$(bash weeks/09-nginx-monitoring/monitoring/monitor.sh up "$mon" --nginx "$status_url" 127.0.0.1:8081 127.0.0.1:8082); then
  stop_all
  exit 1
fi
if ! bash weeks/09-nginx-monitoring/monitoring/monitor.sh job-targets "$mon" taskd-worker "${worker_targets[@]}" ||
  ! bash weeks/09-nginx-monitoring/monitoring/monitor.sh job-targets "$mon" taskd-consumers "${consumer_targets[@]}"; then
  stop_all
  exit 1
fi
case "${FRONT_TLS:-}" in
  "") ;;
  selfsigned)
    bash weeks/09-nginx-monitoring/front/front.sh tls "$dir" .run/tls/cert.pem .run/tls/key.pem || { stop_all; exit 1; }
    echo "run-front: HTTPS with the local CA's certificate (trust .run/tls/ca.pem)" >&2 ;;
  acme)
    bash weeks/09-nginx-monitoring/front/acme.sh down "$acme"
    if ! bash weeks/09-nginx-monitoring/front/acme.sh up "$acme" "$front_port" ||
      ! bash weeks/09-nginx-monitoring/front/acme.sh issue "$acme" taskd.test "$dir/webroot" ||
      ! bash weeks/09-nginx-monitoring/front/front.sh tls "$dir" "$acme/certbot/config/live/taskd.test/fullchain.pem" \
        "$acme/certbot/config/live/taskd.test/privkey.pem"; then
      stop_all
      exit 1
    fi
    echo "run-front: HTTPS for taskd.test from pebble (trust $acme/root.pem; curl --resolve taskd.test:PORT:127.0.0.1)" >&2 ;;
  *) echo "run-front: FRONT_TLS is acme, selfsigned or empty, not $FRONT_TLS" >&2; stop_all; exit 2 ;;
esac
read -r _ tls_port <"$dir/ports"
[ -n "${FRONT_TLS:-}" ] && echo "run-front: https://127.0.0.1:$tls_port (http://127.0.0.1:$front_port redirects there)" >&2
echo "run-front: nginx on http://127.0.0.1:$front_port in front of taskd on 8081 and 8082" >&2
echo "run-front: logs: $dir/access.log (nginx), stderr here (taskd)" >&2
echo "run-front: ${urls//$'\n'/, } (alerts mailed to ${SMTP_SINK_DIR:-the SMTP sink})" >&2
wait -n "${pids[0]}" "${pids[1]}"
status=$?
stop_all
exit $status
