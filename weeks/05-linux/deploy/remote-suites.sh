#!/usr/bin/env bash
# remote-suites.sh — the black-box suites of weeks 1–4 against the service deployed on the week-5
# server, through its public port (80, redirected to taskd's 8080 by the server's nftables).
#
# usage: remote-suites.sh SERVER_ENV OUT_DIR API_BIN...
#   (test-deploy.sh runs it after the deploy suite, so the package it deployed is serving)
# Each suite runs with TK_REMOTE_URL: its shared server is the deployed taskd, with its systemd
# unit, PostgreSQL, Redis, worker and firewall, not a process the suite started. A test that
# needs more than a running service (a taskd of its own, a database of its own, the signing
# key, no worker beside it) is reported "not applicable" by the test kit (tk_need_local) and
# listed; the stage's own suites (make test-week-5) run those. Everything else must pass
# (shared/scripts/remote-suites.sh runs them).
#
# For the run, the server takes one test setting, in a drop-in removed afterwards whatever
# happens: REGISTER_IP_MAX_ATTEMPTS=1000000, because every suite registers its users from the
# same address (127.0.0.1 through podman's port), as the local suites do (TASKD_ENV in
# weeks/04-auth's week.mk). Results: OUT_DIR/api-week-N.json, outside build/results: not graded,
# since the points are weeks 1–4's, already earned by stage 5 in make test-week-5.
set -euo pipefail
server_env=$1 out=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
server=(bash "$here/../server/server.sh")
set -a
# shellcheck disable=SC1090 # written by make server-up
. "$server_env"
set +a
url="http://127.0.0.1:${SERVER_HTTP_PORT:?no SERVER_HTTP_PORT in $server_env}"
dropin=/etc/systemd/system/taskd.service.d/90-remote-suites.conf

on_server() { "${server[@]}" ssh "sudo sh -c '$1'" </dev/null; }
# Waits up to 60 s for /ready through the public port.
ready() {
  local _
  for _ in $(seq 1 60); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -m 3 "$url/ready" || true)" = 200 ] && return 0
    sleep 1
  done
  echo "remote-suites: the deployed taskd is not ready at $url/ready" >&2
  return 1
}
# shellcheck disable=SC2317 # called by the EXIT trap
restore() {
  on_server "rm -f $dropin && systemctl daemon-reload && systemctl restart taskd.service" ||
    echo "remote-suites: could not remove $dropin on the server" >&2
}
trap restore EXIT
on_server "mkdir -p ${dropin%/*} && printf \"[Service]\\nEnvironment=REGISTER_IP_MAX_ATTEMPTS=1000000\\n\" >$dropin && systemctl daemon-reload && systemctl restart taskd.service"
ready

bash "$here/../../../shared/scripts/remote-suites.sh" "$url" week-5-deployed "$out" "$@"
