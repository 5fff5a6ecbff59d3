# shellcheck shell=bash
# pidfiles.sh — sourced by week 9's scripts that start daemons of their own in a run directory
# (monitoring/monitor.sh, front/acme.sh): each daemon's pid in DIR/NAME.pid. Functions only.
#
#   pid_of DIR NAME    the pid recorded for NAME ("" when none)
#   alive DIR NAME     true while that process runs
#   stop DIR NAME      SIGTERM, up to 10 s to exit, then SIGKILL; forgets the pid

pid_of() { cat "$1/$2.pid" 2>/dev/null || true; }
alive() {
  local p
  p=$(pid_of "$1" "$2")
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null
}
stop() {
  local dir=$1 name=$2 p
  p=$(pid_of "$dir" "$name")
  [ -n "$p" ] || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$p" 2>/dev/null || true
  rm -f "$dir/$name.pid"
}
