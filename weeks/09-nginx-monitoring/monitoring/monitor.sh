#!/usr/bin/env bash
# monitor.sh — week 9's monitoring: Debian's Prometheus and Alertmanager from a directory of
# their own, scraping taskd instances (and the job worker, the event consumers and nginx's
# exporter, when a run names them) and mailing alerts to the SMTP sink. The suites and the
# lesson's drills use it; prometheus.yml.in, alertmanager.yml.in and taskd.rules.yml beside it
# are the configuration.
#
# usage:
#   monitor.sh up DIR [--drill] [--nginx STATUS_URL] TARGET...
#                                           start both, print their URLs; with --nginx, also
#                                           nginx's exporter reading the front's stub_status
#   monitor.sh targets DIR TARGET...        replace the taskd instances Prometheus scrapes
#   monitor.sh job-targets DIR JOB [TARGET...]
#                                           replace one job's targets, none to empty it; JOB is
#                                           taskd, taskd-worker, taskd-consumers or nginx
#   monitor.sh down DIR                     stop both
# TARGET is HOST:PORT of a taskd instance; for job-targets, of what serves that job's /metrics
# (the worker's METRICS_PORT, a consumer's). up leaves taskd-worker and taskd-consumers (and
# nginx, without --nginx) with no target until job-targets names some. SMTP_URL
# (smtp://HOST:PORT, from the services script) is where the alerts go. --drill: scrape and
# evaluate every second, and shorten every `for:` of the rules to 5 s and Alertmanager's
# group_wait to 1 s, so an alert fires within seconds instead of minutes (the rules' real
# durations are what promtool's tests check).
# MONITOR_RULES names another rules file (the learner's, in the lab). up prints
#   prometheus-url http://127.0.0.1:PORT
#   alertmanager-url http://127.0.0.1:PORT
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=shared/scripts/ports.sh source-path=SCRIPTDIR/../../..
. "$here/../../../shared/scripts/ports.sh"
# shellcheck source=weeks/09-nginx-monitoring/pidfiles.sh source-path=SCRIPTDIR/../../..
. "$here/../pidfiles.sh"
rules=${MONITOR_RULES:-$here/taskd.rules.yml}

die() { echo "monitor: error: $*" >&2; exit 1; }
usage() { sed -n '3,/^set /{/^#/p}' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# targets/JOB.json, written whole and renamed, so Prometheus never reads half a file.
write_job_targets() {
  local dir=$1 job=$2 t list="" tmp
  shift 2
  for t in "$@"; do
    [[ "$t" =~ ^[A-Za-z0-9.:-]+:[0-9]+$ ]] || die "not HOST:PORT: $t"
    list+="${list:+, }\"$t\""
  done
  mkdir -p "$dir/targets"
  tmp=$(mktemp "$dir/targets/.$job.XXXXXX")
  printf '[{"targets": [%s], "labels": {}}]\n' "$list" >"$tmp"
  chmod 644 "$tmp"
  mv "$tmp" "$dir/targets/$job.json"
}
write_targets() { local dir=$1; shift; write_job_targets "$dir" taskd "$@"; }

# job-targets DIR JOB TARGET...: only the jobs prometheus.yml.in reads from a file. Any other
# name would be a file nobody reads (or a path outside DIR/targets), so it is refused.
cmd_job_targets() {
  [ $# -ge 2 ] || { echo "monitor: error: job-targets needs DIR and JOB" >&2; usage; }
  local dir=$1 job=$2
  shift 2
  case "$job" in
    taskd | taskd-worker | taskd-consumers | nginx) ;;
    *)
      echo "monitor: error: unknown job '$job': taskd, taskd-worker, taskd-consumers or nginx" >&2
      exit 2
      ;;
  esac
  write_job_targets "$dir" "$job" "$@"
}

# Waits until url answers 200; dies with the log's tail when the process exits or 20 s pass.
wait_ready() {
  local dir=$1 name=$2 url=$3
  for _ in $(seq 200); do
    curl -sf -o /dev/null "$url" && return 0
    alive "$dir" "$name" || die "$name exited: $(tail -5 "$dir/$name.log")"
    sleep 0.1
  done
  die "$name did not answer $url within 20 s: $(tail -5 "$dir/$name.log")"
}

cmd_up() {
  local dir=$1 drill=0 smtp prom_port am_port am_cluster status_url="" exporter_port
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --drill) drill=1; shift ;;
      --nginx) status_url=$2; shift 2 ;;
      --*) die "unknown option $1" ;;
      *) break ;;
    esac
  done
  [ $# -gt 0 ] || die "name at least one taskd instance (HOST:PORT)"
  [ -f "$rules" ] || die "no rules at $rules"
  smtp=${SMTP_URL:-}
  smtp=${smtp#smtp://}
  [ -n "$smtp" ] || die "SMTP_URL is not set: start the SMTP sink (services.sh up smtp) and load .run/services.env"
  alive "$dir" prometheus && die "Prometheus already runs from $dir (monitor.sh down $dir first)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  rm -rf "$dir/prom-data" "$dir/am-data" # a new monitor, a new history: no series of a run before
  write_targets "$dir" "$@"
  # The file-fed jobs with no target yet: an empty list, not a missing file Prometheus logs.
  write_job_targets "$dir" nginx
  write_job_targets "$dir" taskd-worker
  write_job_targets "$dir" taskd-consumers
  prom_port=$(free_port)
  am_port=$(free_port)
  am_cluster=$(free_port)
  local scrape=5s eval=5s group_wait=30s
  [ "$drill" = 1 ] && { scrape=1s; eval=1s; group_wait=1s; }
  if [ "$drill" = 1 ]; then
    sed -E 's/^( *)for: [0-9]+[smh]$/\1for: 5s/' "$rules" >"$dir/taskd.rules.yml"
  else
    cp "$rules" "$dir/taskd.rules.yml"
  fi
  sed -e "s|@RUN@|$dir|g" -e "s|@PROM_PORT@|$prom_port|g" -e "s|@AM_PORT@|$am_port|g" \
    -e "s|@SCRAPE_INTERVAL@|$scrape|g" -e "s|@EVAL_INTERVAL@|$eval|g" \
    "$here/prometheus.yml.in" >"$dir/prometheus.yml"
  sed -e "s|@SMTP_HOST_PORT@|$smtp|g" -e "s|@GROUP_WAIT@|$group_wait|g" \
    "$here/alertmanager.yml.in" >"$dir/alertmanager.yml"
  promtool check config "$dir/prometheus.yml" >"$dir/check.log" 2>&1 ||
    die "promtool rejects the configuration: $(cat "$dir/check.log")"
  amtool check-config "$dir/alertmanager.yml" >>"$dir/check.log" 2>&1 ||
    die "amtool rejects the configuration: $(cat "$dir/check.log")"

  prometheus-alertmanager --config.file="$dir/alertmanager.yml" --storage.path="$dir/am-data" \
    --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address="127.0.0.1:$am_cluster" \
    >"$dir/alertmanager.log" 2>&1 &
  echo $! >"$dir/alertmanager.pid"
  prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/prom-data" \
    --web.listen-address="127.0.0.1:$prom_port" >"$dir/prometheus.log" 2>&1 &
  echo $! >"$dir/prometheus.pid"
  if [ -n "$status_url" ]; then
    # nginx's stub_status is a text page, not Prometheus's format: the exporter (Debian's
    # prometheus-nginx-exporter) reads it at each scrape and answers as Prometheus expects.
    exporter_port=$(free_port)
    prometheus-nginx-exporter -nginx.scrape-uri "$status_url" \
      -web.listen-address "127.0.0.1:$exporter_port" >"$dir/nginx-exporter.log" 2>&1 &
    echo $! >"$dir/nginx-exporter.pid"
    wait_ready "$dir" nginx-exporter "http://127.0.0.1:$exporter_port/metrics"
    write_job_targets "$dir" nginx "127.0.0.1:$exporter_port"
  fi
  wait_ready "$dir" alertmanager "http://127.0.0.1:$am_port/-/ready"
  wait_ready "$dir" prometheus "http://127.0.0.1:$prom_port/-/ready"
  # Also in DIR/urls, for whoever comes later (make dashboard reads the Prometheus there).
  printf 'prometheus-url http://127.0.0.1:%s\nalertmanager-url http://127.0.0.1:%s\n' \
    "$prom_port" "$am_port" | tee "$dir/urls"
}


[ $# -ge 2 ] || usage
cmd=$1
shift
case "$cmd" in
  up) cmd_up "$@" ;;
  targets) d=$1; shift; write_targets "$d" "$@" ;;
  job-targets) cmd_job_targets "$@" ;;
  down) stop "$1" prometheus; stop "$1" alertmanager; stop "$1" nginx-exporter ;;
  *) usage ;;
esac
