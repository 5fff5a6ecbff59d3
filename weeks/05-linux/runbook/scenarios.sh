#!/usr/bin/env bash
# scenarios.sh — the runbook lab's broken-server scenarios, run as root ON the server (break.sh
# and check.sh send it there over SSH). `break` plants one fault; `check` inspects the server's
# state and says, line by line, what is still wrong. It never looks at what the learner typed:
# any fix that leaves the server in the right state passes, and a "fix" that breaks something
# else (flushing the firewall, chmod 777) fails.
#
# usage: scenarios.sh list
#        scenarios.sh break SCENARIO
#        scenarios.sh check SCENARIO
#   SCENARIO  permission | port | disk | fd-leak | firewall | secret-mode (README.md says what each is)
#   -h, --help
# Environment (defaults are the names weeks/05-linux uses on its server):
#   RUNBOOK_UNIT      the service (taskd.service)     RUNBOOK_PORT  its own port (8080)
#   RUNBOOK_CRED_DIR  secrets (/etc/taskd/credentials) RUNBOOK_ROOT  a prefix for every path
#                     (the logic test points it at a fake tree; empty on a server)
# Exit status: check: 0 fixed, 1 still broken; break: 0 planted; 2 usage.
set -euo pipefail

unit=${RUNBOOK_UNIT:-taskd.service}
port=${RUNBOOK_PORT:-8080}
root=${RUNBOOK_ROOT:-}
cred_dir=$root${RUNBOOK_CRED_DIR:-/etc/taskd/credentials}
dropin_dir=$root/etc/systemd/system/$unit.d
bigfile=$root/var/log/taskd-debug.log
scenarios="permission port disk fd-leak firewall secret-mode"

usage() { sed -n '/^# usage:/,/^# Exit status/s/^# \{0,1\}//p' "$0"; }
die() { echo "scenarios: $*" >&2; exit "${2:-1}"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/runbook.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ---- what check reports: every problem is one "still broken:" line -------------------------
problems=0
broken() { echo "still broken: $*"; problems=$((problems + 1)); }
fine() { echo "ok: $*"; }

prop() { systemctl show -p "$2" --value "$1" 2>/dev/null || true; }
main_pid() { prop "$unit" MainPID; }
exec_path() { prop "$unit" ExecStart | sed -n 's/.*path=\([^ ;]*\).*/\1/p' | head -1; }

# The checks every scenario ends with: the service runs and listens on its port. Whose socket
# it is: ss -p names the process when it can read the holder's /proc/PID/fd; root without
# CAP_SYS_PTRACE (a container, like the week's server) cannot for another user's process, so
# then the socket's owner (ss -e: the uid that made it) must be the unit's user.
# A unit on its way up (activating: starting, or waiting out RestartSec= after a crash or a
# watchdog kill that the fault caused before it was fixed) is given 30 s to get there: the fix
# is judged, not the moment it was checked.
service_is_up() {
  local pid user uid sock_uid state _
  for _ in $(seq 1 30); do
    state=$(systemctl is-active "$unit" 2>/dev/null || true)
    case $state in activating | deactivating | reloading) sleep 1 ;; *) break ;; esac
  done
  if [ "$state" = active ]; then fine "$unit is active"; else
    broken "$unit is not active (${state:-unknown}: systemctl status $unit; journalctl -u $unit -n 50)"; return; fi
  pid=$(main_pid)
  ss -ltnpeH "sport = :$port" >"$tmp/listen" 2>/dev/null || true
  if [ ! -s "$tmp/listen" ]; then
    broken "nothing listens on port $port (ss -ltnp 'sport = :$port')"
  elif grep -q 'pid=' "$tmp/listen"; then
    if grep -q "pid=$pid," "$tmp/listen"; then fine "$unit (pid $pid) listens on $port"; else
      broken "port $port is not held by $unit's main process $pid (ss -ltnp 'sport = :$port')"; fi
  else
    user=$(prop "$unit" User)
    uid=$(id -u "${user:-root}" 2>/dev/null || echo "?")
    sock_uid=$(grep -o 'uid:[0-9]*' "$tmp/listen" | head -1 | cut -d: -f2)
    if [ "$sock_uid" = "$uid" ]; then fine "port $port is held by a socket of ${user:-root} (uid $uid), $unit's user"; else
      broken "port $port is held by uid ${sock_uid:-?}, not by $unit's user ${user:-root} (uid $uid)"; fi
  fi
}

# ---- 1. permission: the binary lost its execute bit (a copy that did not keep the mode) ---------
break_permission() {
  local bin
  bin=$root$(exec_path)
  [ -f "$bin" ] || die "cannot find $unit's executable ($bin)"
  chmod 0644 "$bin"
  systemctl restart "$unit" || true
}
check_permission() {
  local bin mode
  bin=$root$(exec_path)
  mode=$(stat -c %a "$bin" 2>/dev/null || echo missing)
  case $mode in
    755 | 555 | 750 | 550) fine "$bin is executable ($mode)" ;;
    missing) broken "$bin does not exist" ;;
    *) broken "$bin has mode $mode: the service user cannot run it, or anyone can change it (755)" ;;
  esac
  [ "$(stat -c %U "$bin" 2>/dev/null)" = root ] || broken "$bin is not owned by root"
  service_is_up
}

# ---- 2. port: another program took 8080 while taskd was stopped ------------------------------
break_port() {
  systemctl stop "$unit"
  systemd-run --quiet --unit=runbook-squatter python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', $port)); s.listen(); time.sleep(10**9)"
  sleep 1
  systemctl start "$unit" || true
}
check_port() {
  if [ "$(systemctl is-active runbook-squatter.service 2>/dev/null || true)" = active ]; then
    broken "runbook-squatter.service still runs (what is it? whatsup.sh port $port)"
  else fine "nothing else holds port $port"; fi
  service_is_up
}

# ---- 3. disk: a runaway debug log, deleted while a process still writes it -------------------
break_disk() {
  mkdir -p "$(dirname "$bigfile")"
  fallocate -l 256M "$bigfile"
  # The writer keeps the file open; rm then frees nothing: du no longer sees it, df still does.
  systemd-run --quiet --unit=runbook-logger sh -c "exec 3>>'$bigfile'; exec sleep infinity"
  sleep 1
  rm -f "$bigfile"
}
check_disk() {
  local held=""
  if [ -e "$bigfile" ] && [ "$(stat -c %s "$bigfile")" -ge $((64 << 20)) ]; then
    broken "$bigfile still holds $(($(stat -c %s "$bigfile") >> 20)) MiB"
  fi
  held=$(find "$root"/proc/[0-9]*/fd -maxdepth 1 -lname '*(deleted)' -printf '%p %l\n' 2>/dev/null |
    while read -r fd target _; do
      [ "$(stat -L -c %s "$fd" 2>/dev/null || echo 0)" -ge $((64 << 20)) ] && echo "$fd -> $target"
    done || true)
  if [ -n "$held" ]; then broken "a deleted file of 64 MiB or more is still open: $held (whatsup.sh deleted)"; else
    fine "no large deleted file is held open"; fi
  service_is_up
}

# ---- 4. fd-leak: a client that never closes its connections, and a limit set too low ---------
break_fd_leak() {
  mkdir -p "$dropin_dir"
  printf '[Service]\nLimitNOFILE=64\n' >"$dropin_dir/50-runbook.conf"
  systemctl daemon-reload
  systemctl restart "$unit"
  systemd-run --quiet --unit=runbook-leaker python3 -c "
import socket, time
held = []
for _ in range(200):
    try: held.append(socket.create_connection(('127.0.0.1', $port), timeout=2))
    except OSError: time.sleep(0.05)
time.sleep(10**9)"
}
check_fd_leak() {
  local soft pid n
  if [ "$(systemctl is-active runbook-leaker.service 2>/dev/null || true)" = active ]; then
    broken "runbook-leaker.service still holds its connections (ss -tnp 'dport = :$port')"
  else fine "no client hoards connections"; fi
  soft=$(prop "$unit" LimitNOFILESoft)
  if [ -n "$soft" ] && { [ "$soft" = infinity ] || [ "$soft" -ge 1024 ]; }; then fine "$unit may open $soft files"; else
    broken "$unit may open only ${soft:-?} files (systemctl show -p LimitNOFILESoft $unit; systemctl cat $unit)"; fi
  pid=$(main_pid)
  if [ -n "$pid" ] && [ "$pid" != 0 ] && [ -d "$root/proc/$pid/fd" ]; then
    n=$(find "$root/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
    if [ "$soft" != infinity ] && [ -n "$soft" ] && [ "$n" -ge $((soft / 2)) ]; then
      broken "$unit holds $n descriptors, half or more of its limit $soft"
    else fine "$unit holds $n descriptors"; fi
  fi
  service_is_up
}

# ---- 5. firewall: a rule that drops the health check ----------------------------------------
# Found in whatever table and chain hook the input path (the server's ruleset is w5-server's).
input_chain() {
  nft -j list chains 2>/dev/null |
    python3 -c 'import json,sys
for c in json.load(sys.stdin)["nftables"]:
    c = c.get("chain")
    if c and c.get("hook") == "input": print(c["family"], c["table"], c["name"]); break'
}
# The server's own ruleset may drop 8080 from outside on purpose (only the 80 -> 8080 redirect
# may reach it), so "a rule drops 8080" is not the fault: a drop or reject rule on 80 or 8080
# that the ruleset did not have before the break is. The ruleset is saved at break time.
baseline=$root/var/lib/runbook/firewall.before
port_blocks() { # the ruleset's drop/reject rules on 80 or the port, without counters and handles
  nft list ruleset 2>/dev/null |
    grep -E "dport ([^ ]*[{, ])?($port|80)([,} ].*)?(drop|reject)" |
    sed -E 's/counter( packets [0-9]+ bytes [0-9]+)? ?//; s/ *# handle [0-9]+//; s/^[[:space:]]+//' | sort || true
}
break_firewall() {
  local fam table chain
  read -r fam table chain < <(input_chain) || die "no nftables chain hooks input"
  mkdir -p "$(dirname "$baseline")"
  port_blocks >"$baseline"
  nft insert rule "$fam" "$table" "$chain" tcp dport "$port" counter drop comment '"runbook"'
}
check_firewall() {
  local fam="" table="" chain="" policy
  [ -f "$baseline" ] || die "no $baseline: plant the scenario with break.sh first"
  port_blocks >"$tmp/now"
  if comm -13 "$baseline" "$tmp/now" >"$tmp/new" && [ -s "$tmp/new" ]; then
    broken "a rule the server did not have drops its port: $(head -1 "$tmp/new") (nft -a list ruleset)"
  else fine "no new rule drops port 80 or $port"; fi
  read -r fam table chain < <(input_chain) || true
  if [ -z "$chain" ]; then broken "no chain filters input any more (was the ruleset flushed?)"; else
    policy=$(nft list chain "$fam" "$table" "$chain" 2>/dev/null | sed -n 's/.*policy \([a-z]*\);.*/\1/p' | head -1)
    if [ "$policy" = drop ]; then fine "input policy is still drop"; else
      broken "the input chain's policy is '${policy:-none}': the fix must not open everything"; fi
  fi
  # The ruleset is read whole first: with pipefail, `nft ... | grep -q` fails at random when grep
  # quits at its match before nft has written everything (nft dies of SIGPIPE). Measured on the
  # week's server: "no rule for SSH" on 1 check out of 6 of a healthy ruleset.
  nft list ruleset >"$tmp/ruleset" 2>/dev/null || true
  if grep -qE 'dport ([^ ]*[{, ])?22([,} ]|$)' "$tmp/ruleset"; then fine "SSH is still allowed"; else
    broken "no rule for SSH (22) is left"; fi
  service_is_up
}

# ---- 6. secret-mode: the signing key became world-readable -----------------------------------
break_secret_mode() {
  local f
  f=$(find "$cred_dir" -maxdepth 1 -type f | sort | head -1)
  [ -n "$f" ] || die "no secret in $cred_dir"
  chmod 0644 "$f"
  chmod 0755 "$cred_dir"
}
check_secret_mode() {
  local f mode n=0
  mode=$(stat -c %a "$cred_dir" 2>/dev/null || echo missing)
  case $mode in 700 | 500) fine "$cred_dir is $mode" ;; *) broken "$cred_dir has mode $mode (700)" ;; esac
  while IFS= read -r f; do
    n=$((n + 1))
    mode=$(stat -c '%a %U' "$f")
    case $mode in
      '600 root' | '400 root') fine "$f is ${mode% *}, owned by root" ;;
      *) broken "$f is $mode: a secret is 0600 (or 0400) and owned by root; LoadCredential= hands it to the service" ;;
    esac
  done < <(find "$cred_dir" -maxdepth 1 -type f 2>/dev/null | sort)
  [ "$n" -gt 0 ] || broken "no secret left in $cred_dir (deleting it is not a fix)"
  service_is_up
}

[ $# -ge 1 ] || { usage >&2; exit 2; }
case $1 in
  -h | --help) usage; exit 0 ;;
  list) tr ' ' '\n' <<<"$scenarios"; exit 0 ;;
  break | check) ;;
  *) die "unknown command '$1' (see --help)" 2 ;;
esac
[ $# -eq 2 ] || die "usage: scenarios.sh $1 SCENARIO" 2
case " $scenarios " in *" $2 "*) ;; *) die "unknown scenario '$2' (one of: $scenarios)" 2 ;; esac
fn="$1_${2//-/_}"
if [ "$1" = break ]; then
  "$fn"
  echo "planted: $2 (README.md: the symptom to start from)"
  exit 0
fi
"$fn"
if [ "$problems" -gt 0 ]; then
  echo "$2: NOT FIXED ($problems problem(s) left)"
  exit 1
fi
echo "$2: FIXED"
