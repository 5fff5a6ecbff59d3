# shellcheck shell=bash
# scratch-run.sh — sourced by week 9's scripts that set up a whole scene for one run and tear it
# down after (front/https-suites.sh, monitoring/dashboard/test-dashboard-ui.sh): a run directory
# that services.sh reaps if the script dies, and taskd instances started in it.
#
#   scratch_run PREFIX           sets $run to a new /tmp/PREFIX-XXXXXX (readable by nginx's
#                                workers) that names this shell as its owner, and $pids to ()
#   scratch_taskd TASKD NAME [NAME=value...]
#                                starts TASKD on a free port with TASKD_ENV's settings and the
#                                ones given, its log in $run/NAME.log; waits for /health; adds
#                                its pid to $pids and sets $taskd_port
#   scratch_stop                 SIGTERM to every pid in $pids, and waits for them
# Needs shared/scripts/ports.sh (free_port) sourced first.

scratch_run() {
  run=$(mktemp -d "/tmp/$1-XXXXXX")
  chmod 755 "$run"
  # services.sh prune-test-dbs stops what runs here once this shell is gone.
  echo "$$ $(sed 's/^.*) //' /proc/$$/stat | cut -d' ' -f20)" >"$run/owner"
  pids=()
}

scratch_taskd() {
  local taskd=$1 name=$2
  shift 2
  taskd_port=$(free_port)
  # shellcheck disable=SC2086 # TASKD_ENV is a list of NAME=value words
  env ${TASKD_ENV:-} PORT="$taskd_port" "$@" "$taskd" >"$run/$name.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$taskd_port/health" >/dev/null 2>&1 && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || { tail -5 "$run/$name.log" >&2; return 1; }
    sleep 0.1
  done
  echo "taskd ($name) did not answer /health within 30 s" >&2
  return 1
}

scratch_stop() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
