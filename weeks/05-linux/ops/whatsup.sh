#!/usr/bin/env bash
# whatsup.sh — "what is using this port / this CPU / this file?", the first questions on a
# misbehaving server, answered from the kernel's own tables (ss, ps and /proc).
#
# usage: whatsup.sh COMMAND ARG
#   port PORT     who listens on TCP or UDP port PORT, and each holder's process summary;
#                 then how many connections the port has, by state
#   pid PID       one process: /proc/PID/status (state, parent, user, memory, threads), its
#                 command line, the "Max open files" limit against the descriptors it holds
#                 (by kind: sockets, pipes, files, deleted files) and the sockets it listens on
#   file PATH     which processes hold PATH open (lsof when installed, else /proc/*/fd)
#   cpu [N]       the N processes using the most CPU (default 5), with their age and memory
#   deleted       files that are deleted but still open: the disk space df counts and du cannot
#                 find, and the process to restart to free it
#   -h, --help    this text
# Run it as root to see every process: ss -p and /proc/PID/fd show another user's processes
# only to root (the script says when it saw less than it could).
# Exit status: 0 found something, 1 nothing matched (nothing listens, no such process), 2 usage.
set -euo pipefail

usage() { sed -n '/^# usage:/,/^# Exit status/s/^# \{0,1\}//p' "$0"; }
die() { echo "whatsup: $*" >&2; exit "${2:-1}"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/whatsup.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

not_root_note() {
  [ "$(id -u)" = 0 ] || echo "  (not root: other users' processes are not shown; run with sudo to see them)"
}

# summary PID: one line per process, the way ps shows it.
summary() {
  ps -o pid=,ppid=,user=,stat=,etime=,pcpu=,rss= -p "$1" 2>/dev/null |
    awk '{ printf "  pid %s  parent %s  user %s  state %s  up %s  cpu %s%%  rss %d MiB\n",
           $1, $2, $3, $4, $5, $6, $7 / 1024 }'
  ps -o args= -p "$1" 2>/dev/null | sed 's/^/    /' || true
}

# fd_kinds PID: the descriptors of a process by kind, from the link targets in /proc/PID/fd.
fd_kinds() {
  local fd target sockets=0 pipes=0 files=0 deleted=0 other=0
  for fd in /proc/"$1"/fd/*; do
    target=$(readlink "$fd" 2>/dev/null) || continue
    case $target in
      socket:*) sockets=$((sockets + 1)) ;;
      pipe:*) pipes=$((pipes + 1)) ;;
      *' (deleted)') deleted=$((deleted + 1)) ;;
      /*) files=$((files + 1)) ;;
      *) other=$((other + 1)) ;;
    esac
  done
  echo "$sockets sockets, $pipes pipes, $files files, $deleted deleted files, $other other"
}

cmd_port() {
  local port=$1 pids
  [[ $port =~ ^[0-9]+$ && $port -ge 1 && $port -le 65535 ]] || die "port: $port is not a port number" 2
  # -l listening, -t/-u TCP and UDP, -n numbers, -p the process, -H no header.
  ss -ltunpH "sport = :$port" >"$tmp/listen" 2>/dev/null || true
  if [ ! -s "$tmp/listen" ]; then
    echo "nothing listens on port $port"
    not_root_note
    return 1
  fi
  echo "listening on port $port:"
  awk '{ print "  " $1 " " $5 }' "$tmp/listen"
  pids=$(grep -o 'pid=[0-9]*' "$tmp/listen" | cut -d= -f2 | sort -un || true)
  if [ -z "$pids" ]; then
    # ss -p reads the holder's /proc/PID/fd: another user's needs root, and root in a container
    # without CAP_SYS_PTRACE cannot. The socket's uid (ss -e) is always shown.
    echo "  the process is not visible here; the socket belongs to uid(s):" \
      "$(ss -ltuneH "sport = :$port" 2>/dev/null | grep -o 'uid:[0-9]*' | cut -d: -f2 | sort -u |
        while read -r u; do printf '%s(%s) ' "$u" "$(id -nu "$u" 2>/dev/null || echo '?')"; done)"
    not_root_note
  fi
  for pid in $pids; do
    echo "process $pid:"
    summary "$pid"
  done
  ss -tanH "( sport = :$port )" 2>/dev/null | awk '{ n[$1]++ } END { for (s in n) printf "  %s %d\n", s, n[s] }' |
    sort >"$tmp/states" || true
  if [ -s "$tmp/states" ]; then
    echo "TCP sockets on port $port by state:"
    cat "$tmp/states"
  fi
}

cmd_pid() {
  local pid=$1 soft
  [[ $pid =~ ^[0-9]+$ ]] || die "pid: $pid is not a process id" 2
  [ -d "/proc/$pid" ] || { echo "no process $pid"; return 1; }
  echo "process $pid:"
  summary "$pid"
  grep -E '^(Name|State|PPid|Uid|Gid|VmRSS|Threads|voluntary_ctxt_switches|nonvoluntary_ctxt_switches):' \
    "/proc/$pid/status" | sed 's/^/  /'
  # Every Linux process has a working directory and a limit on descriptors; both explain a
  # surprising share of outages (a file written to the wrong place, "Too many open files").
  echo "  cwd: $(readlink "/proc/$pid/cwd" 2>/dev/null || echo '(not visible)')"
  soft=$(awk '/^Max open files/ { print $4 }' "/proc/$pid/limits")
  if [ -r "/proc/$pid/fd" ]; then
    echo "  open descriptors: $(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l) of $soft allowed ($(fd_kinds "$pid"))"
  else
    echo "  open descriptors: not visible to this user (limit $soft)"
    not_root_note
  fi
  ss -ltunpH 2>/dev/null | grep "pid=$pid," | awk '{ print "  listens: " $1 " " $5 }' || true
}

cmd_file() {
  local path pid fd
  path=$(realpath -m -- "$1")
  [ -e "$path" ] || echo "($path does not exist any more; looking for it as a deleted file)"
  if command -v lsof >/dev/null; then
    # lsof's exit status is 1 when nothing holds the file, and on harmless warnings too.
    lsof -w -- "$path" >"$tmp/lsof" 2>/dev/null || true
    if [ -s "$tmp/lsof" ]; then cat "$tmp/lsof"; return 0; fi
  fi
  for fd in /proc/[0-9]*/fd/*; do
    case $(readlink "$fd" 2>/dev/null) in
      "$path" | "$path (deleted)") pid=${fd#/proc/}; echo "${pid%%/*} fd ${fd##*/}" ;;
    esac
  done | sort -un >"$tmp/holders"
  if [ ! -s "$tmp/holders" ]; then
    echo "no process holds $path open"
    not_root_note
    return 1
  fi
  while read -r pid _ fd; do
    echo "process $pid holds it as descriptor $fd:"
    summary "$pid"
  done <"$tmp/holders"
}

cmd_cpu() {
  local n=$1
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "cpu N: N must be a positive number" 2
  echo "the $n processes using the most CPU (percent of one CPU over each one's lifetime):"
  ps -eo pid,user,pcpu,pmem,etime,comm --sort=-pcpu | head -n $((n + 1))
  echo "load average (1, 5, 15 min) and CPUs: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc)"
}

cmd_deleted() {
  local fd target pid size found=0
  for fd in /proc/[0-9]*/fd/*; do
    target=$(readlink "$fd" 2>/dev/null) || continue
    case $target in
      /*' (deleted)')
        pid=${fd#/proc/}
        pid=${pid%%/*}
        size=$(stat -L -c %s "$fd" 2>/dev/null || echo '?')
        printf '%s\t%s\t%s\t%s\n' "$size" "$pid" "$(cat "/proc/$pid/comm" 2>/dev/null)" "$target"
        found=1 ;;
    esac
  done >"$tmp/deleted"
  [ -s "$tmp/deleted" ] && found=1
  if [ "$found" = 0 ]; then
    echo "no deleted file is held open"
    not_root_note
    return 1
  fi
  echo "deleted files still open (bytes, pid, command, file), largest first:"
  sort -rn "$tmp/deleted" | sed 's/^/  /'
  echo "their space returns when the process closes them or exits (restart it, or truncate"
  echo "the file through the descriptor: : > /proc/PID/fd/N)"
}

[ $# -ge 1 ] || { usage >&2; exit 2; }
case $1 in
  -h | --help) usage ;;
  port) [ $# -eq 2 ] || die "usage: whatsup.sh port PORT" 2; cmd_port "$2" ;;
  pid) [ $# -eq 2 ] || die "usage: whatsup.sh pid PID" 2; cmd_pid "$2" ;;
  file) [ $# -eq 2 ] || die "usage: whatsup.sh file PATH" 2; cmd_file "$2" ;;
  cpu) [ $# -le 2 ] || die "usage: whatsup.sh cpu [N]" 2; cmd_cpu "${2:-5}" ;;
  deleted) [ $# -eq 1 ] || die "usage: whatsup.sh deleted" 2; cmd_deleted ;;
  *) die "unknown command '$1' (see --help)" 2 ;;
esac
