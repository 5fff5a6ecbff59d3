#!/usr/bin/env bash
# break.sh — plant one runbook scenario on the server that `make server-up` started.
#
# usage: break.sh SCENARIO       (break.sh --list for the names; README.md for what each is)
# Then find the fault from the symptom, fix it on the server (make server-ssh), and grade
# yourself with check.sh SCENARIO. Exit status: 0 planted, 1 failed, 2 usage or no server.
set -euo pipefail
die() { echo "break: $*" >&2; exit "${2:-1}"; }
# shellcheck source=remote.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/remote.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/break.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

case ${1:-} in
  -h | --help) sed -n '/^# usage:/,/^# yourself/s/^# \{0,1\}//p' "$0"; exit 0 ;;
  --list) bash "$RUNBOOK_DIR/scenarios.sh" list; exit 0 ;;
  "") die "usage: break.sh SCENARIO (break.sh --list)" 2 ;;
esac
[ $# -eq 1 ] || die "usage: break.sh SCENARIO" 2
bash "$RUNBOOK_DIR/scenarios.sh" list >"$tmp/names"
grep -qxF -- "$1" "$tmp/names" || die "unknown scenario '$1' (one of: $(tr '\n' ' ' <"$tmp/names"))" 2
server_load
server_scenarios break "$1"
