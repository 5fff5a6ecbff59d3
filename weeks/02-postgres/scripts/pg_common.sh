#!/usr/bin/env bash
# pg_common.sh — what backup.sh and restore.sh share; sourced by both, never run.
#
# Sets REPO_ROOT and RUN_DIR ($TASKD_RUN_DIR or <repo>/.run, like shared/scripts/services.sh) and
# defines:
#   pg_load_services_env  export the settings of <run dir>/services.env (PG_URL...) if it exists
#   split_url URL         postgres://user:password@rest -> URL_NOPW=postgres://user@rest and
#                         URL_PW=password (percent-decoded), so the password travels in
#                         PGPASSWORD and never on a command line (ps shows those to every user)
#   pg_client_bin         find the local server's bin directory once (PG_CLIENT_BIN, may be "")
#   pg_tool NAME          path of that version of a client tool (pg_dump refuses a newer
#                         server), else PATH's; dies (the caller's die) when there is none
# The sourcing script defines die() first.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
RUN_DIR=$(realpath -m "${TASKD_RUN_DIR:-$REPO_ROOT/.run}")

pg_load_services_env() {
  if [ -f "$RUN_DIR/services.env" ]; then
    set -a
    # shellcheck disable=SC1091
    . "$RUN_DIR/services.env"
    set +a
  fi
}

# shellcheck disable=SC2034 # URL_NOPW and URL_PW are read by the sourcing script
split_url() {
  local re='^(postgres(ql)?://)([^:@/?]+):([^@/?]*)@(.*)$' pw
  if [[ $1 =~ $re ]]; then
    URL_NOPW="${BASH_REMATCH[1]}${BASH_REMATCH[3]}@${BASH_REMATCH[5]}"
    pw=${BASH_REMATCH[4]}
    URL_PW=$(printf '%b' "${pw//%/\\x}")
  else
    URL_NOPW=$1
    URL_PW=${PGPASSWORD:-}
  fi
}

pg_client_bin() {
  PG_CLIENT_BIN=$(bash "$REPO_ROOT/shared/scripts/services.sh" pg-bin 2>/dev/null || true)
}

pg_tool() {
  if [ -n "${PG_CLIENT_BIN:-}" ] && [ -x "$PG_CLIENT_BIN/$1" ]; then
    echo "$PG_CLIENT_BIN/$1"
  else
    command -v "$1" || die "$1 not found"
  fi
}
