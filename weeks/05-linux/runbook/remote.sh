#!/usr/bin/env bash
# remote.sh — what break.sh and check.sh share; sourced, never run. It reads the server's
# coordinates from .run/server/server.env (written by `make server-up`) and runs scenarios.sh
# on the server as root over SSH: the script travels on stdin, so nothing is installed there.
#
# Defines: server_load (sets SERVER_* or dies), server_scenarios ARGS... (runs scenarios.sh
# ARGS on the server, returns its exit status). The sourcing script defines die().
RUNBOOK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$RUNBOOK_DIR/../../.." && pwd)
SERVER_ENV=${SERVER_ENV:-$REPO_ROOT/.run/server/server.env}

server_load() {
  [ -f "$SERVER_ENV" ] || die "no $SERVER_ENV: start the server first (make server-up)" 2
  set -a
  # shellcheck disable=SC1090 # written by make server-up
  . "$SERVER_ENV"
  set +a
  : "${SERVER_SSH_PORT:?$SERVER_ENV has no SERVER_SSH_PORT}" "${SERVER_SSH_KEY:?$SERVER_ENV has no SERVER_SSH_KEY}"
  # The server's login is SERVER_USER (the deploy user, with sudo), root when it is not named.
  SERVER_USER=${SERVER_USER:-root}
}

server_scenarios() {
  local sudo=""
  local -a known=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null)
  [ "$SERVER_USER" = root ] || sudo="sudo -n"
  # server-up records the server's host key: check it when it is there.
  [ -z "${SERVER_KNOWN_HOSTS:-}" ] || known=(-o StrictHostKeyChecking=yes -o UserKnownHostsFile="$SERVER_KNOWN_HOSTS")
  ssh -i "$SERVER_SSH_KEY" -p "$SERVER_SSH_PORT" -o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR \
    "${known[@]}" "$SERVER_USER@127.0.0.1" "$sudo bash -s -- $*" <"$RUNBOOK_DIR/scenarios.sh"
}
