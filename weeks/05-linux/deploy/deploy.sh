#!/usr/bin/env bash
# deploy.sh — ships the taskd package to the server, installs it, waits until the new version
# serves, and rolls back to the package that served before if it does not (`make deploy-server`).
#
# usage: deploy.sh [--server-env FILE] [--ready-timeout SECONDS] PACKAGE.deb
#   --server-env     the server's address and key, written by `make server-up`
#                    (default .run/server/server.env: SERVER_USER, SERVER_SSH_OPTS, SERVER_HTTP_PORT)
#   --ready-timeout  how long the new version has to become ready (default 90 s); the rollback
#                    gets as long again
#
# The steps, each printed with its time:
#   1. copy the .deb to /var/lib/taskd-deploy/incoming.deb on the server (over SSH);
#   2. install it (apt-get, which also fetches missing libraries; --reinstall so that the same
#      version deployed again restarts too, --allow-downgrades so that a
#      rollback to an older version works the same way). Its postinst restarts both services
#      without waiting;
#   3. wait for readiness, all of: taskd runs a NEW invocation (not the old process, which may
#      still answer for a moment), systemd calls it active (Type=notify: taskd said READY=1),
#      taskd-worker is active, and GET /health and GET /ready answer 200 through the public
#      port, from outside, as a user would;
#   4. ready: incoming.deb becomes current.deb, and the one that served before previous.deb.
#      Not ready within the bound (or taskd failed for good, systemd's start limit): the
#      journal's last lines are shown, current.deb (the package that served before) is
#      installed again, and step 3 is repeated for it.
# The server keeps the package that serves (current.deb) and the one before (previous.deb);
# a deploy never deletes the package it may have to roll back to.
#
# Exit status: 0 deployed; 1 not deployed, the previous version is back and serving;
# 2 not deployed and nothing serves (no previous package, or the rollback failed too);
# 3 bad usage or no server. The last line says what happened in words, and the line before it
# in a form the tests read: "deploy: result=deployed|rolled-back|failed version=... seconds=...".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
server_env="$repo/.run/server/server.env"
ready_timeout=90
deb=

usage() {
  echo "usage: deploy.sh [--server-env FILE] [--ready-timeout SECONDS] PACKAGE.deb" >&2
  exit 3
}
while [ $# -gt 0 ]; do
  case "$1" in
    --server-env) server_env=${2:?}; shift 2 ;;
    --ready-timeout) ready_timeout=${2:?}; shift 2 ;;
    -*) usage ;;
    *) [ -z "$deb" ] || usage; deb=$1; shift ;;
  esac
done
[ -n "$deb" ] || usage
[[ $ready_timeout =~ ^[0-9]+$ ]] || usage
[ -s "$deb" ] || { echo "deploy: no package $deb (make package)" >&2; exit 3; }
[ -s "$server_env" ] || { echo "deploy: no server: $server_env is missing (make server-up)" >&2; exit 3; }
# shellcheck disable=SC1090 # written by server.sh up
. "$server_env"
: "${SERVER_USER:?} ${SERVER_SSH_OPTS:?} ${SERVER_HTTP_PORT:?}"

version=$(dpkg-deb -f "$deb" Version)
start=$(date +%s)
phase="starting"
say() { echo "deploy: [$(($(date +%s) - start)) s] $*"; }
# A failure we did not handle (an ssh that broke, a full disk) says where it happened.
# shellcheck disable=SC2317 # called by the trap
on_exit() {
  local rc=$?
  [ "$rc" -eq 0 ] || [ "$phase" = finished ] || echo "deploy: stopped with status $rc while $phase" >&2
}
trap on_exit EXIT

# remote CMD...: runs CMD on the server as root. The words are quoted for the remote shell.
remote() {
  # SC2086: SERVER_SSH_OPTS is a list of words; SC2029: the command is meant to be expanded
  # here, quoted, and run there.
  # shellcheck disable=SC2086,SC2029
  ssh $SERVER_SSH_OPTS "$SERVER_USER@127.0.0.1" sudo "$(printf '%q ' "$@")"
}
dir=/var/lib/taskd-deploy

# status: one line "TASKD_STATE|TASKD_INVOCATION|WORKER_STATE" from systemd on the server (the
# invocation is empty before the first start, hence a separator that is not white space).
status() {
  # shellcheck disable=SC2016 # expanded on the server
  remote sh -c 'echo "$(systemctl show -p ActiveState --value taskd.service)|$(systemctl show \
    -p InvocationID --value taskd.service)|$(systemctl show -p ActiveState --value taskd-worker.service)"'
}

# http_ok PATH: does the public port answer 200?
http_ok() {
  [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$SERVER_HTTP_PORT$1")" = 200 ]
}

# install_package FILE: installs FILE on the server (it is already there).
install_package() {
  remote env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall --allow-downgrades \
    -o Dpkg::Options::=--force-confold "$1" >/dev/null ||
    { say "apt-get failed: updating the package lists once and trying again"
      remote apt-get update -q >/dev/null
      remote env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall --allow-downgrades \
        -o Dpkg::Options::=--force-confold "$1" >/dev/null; }
}

# wait_ready OLD_INVOCATION SECONDS: 0 when a new taskd invocation is ready (see step 3),
# 1 when the time is up or taskd failed for good.
wait_ready() {
  local old=$1 deadline=$(($(date +%s) + $2)) state inv worker
  while [ "$(date +%s)" -lt "$deadline" ]; do
    IFS='|' read -r state inv worker < <(status) || true
    if [ "$state" = failed ]; then
      say "taskd.service failed (systemd gave up restarting it)"
      return 1
    fi
    if [ "$state" = active ] && [ "$inv" != "$old" ] && [ "$worker" = active ] &&
      http_ok /health && http_ok /ready; then
      return 0
    fi
    sleep 1
  done
  say "not ready after $2 s (taskd: ${state:-?}, worker: ${worker:-?})"
  return 1
}

phase="copying the package"
say "deploying taskd $version to 127.0.0.1:$SERVER_HTTP_PORT"
remote install -d -m 0700 "$dir"
# shellcheck disable=SC2086,SC2029
ssh $SERVER_SSH_OPTS "$SERVER_USER@127.0.0.1" "sudo sh -c 'cat > $dir/incoming.deb'" <"$deb"
has_previous=$(remote sh -c "test -s $dir/current.deb && echo yes || echo no")
IFS='|' read -r _ old_inv _ < <(status) || true

phase="installing $version"
say "installing (the services restart)"
t_install=$(date +%s)
if install_package "$dir/incoming.deb" && wait_ready "${old_inv:-none}" "$ready_timeout"; then
  phase="keeping the packages"
  if [ "$has_previous" = yes ]; then remote mv -f "$dir/current.deb" "$dir/previous.deb"; fi
  remote mv -f "$dir/incoming.deb" "$dir/current.deb"
  secs=$(($(date +%s) - start))
  phase=finished
  echo "deploy: result=deployed version=$version seconds=$secs ready_seconds=$(($(date +%s) - t_install))"
  say "taskd $version is serving (ready $(($(date +%s) - t_install)) s after the install began)"
  exit 0
fi

phase="rolling back"
say "taskd $version did not become ready; its last log lines:"
remote journalctl -u taskd.service -n 15 --no-pager -o cat | sed 's/^/    /' || true
if [ "$has_previous" != yes ]; then
  phase=finished
  echo "deploy: result=failed version=$version seconds=$(($(date +%s) - start))"
  say "nothing to roll back to ($dir/current.deb is missing: first deploy?): NOTHING SERVES"
  exit 2
fi
prev=$(remote dpkg-deb -f "$dir/current.deb" Version)
say "rolling back to $prev"
t_back=$(date +%s)
IFS='|' read -r _ failed_inv _ < <(status) || true
if install_package "$dir/current.deb" && wait_ready "${failed_inv:-none}" "$ready_timeout"; then
  remote rm -f "$dir/incoming.deb"
  phase=finished
  echo "deploy: result=rolled-back version=$version previous=$prev seconds=$(($(date +%s) - start)) rollback_seconds=$(($(date +%s) - t_back))"
  say "rolled back: taskd $prev serves again ($(($(date +%s) - t_back)) s); $version was NOT deployed"
  exit 1
fi
phase=finished
echo "deploy: result=failed version=$version previous=$prev seconds=$(($(date +%s) - start))"
say "the rollback to $prev did not become ready either: NOTHING SERVES (journalctl -u taskd)"
exit 2
