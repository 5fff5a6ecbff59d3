#!/usr/bin/env bash
# firewall.sh — change the server's nftables ruleset without locking yourself out.
#
# usage: firewall.sh check FILE    is FILE a valid ruleset that keeps SSH open?
#        firewall.sh apply FILE    check, then apply it with an automatic rollback
#
# It runs on your machine and talks to the server over SSH (.run/server/server.env), as you
# would with a rented VM whose console you cannot reach. A firewall mistake there is the classic
# way to lose a server, so:
#   check  1. `nft -c -f FILE` on the server: the kernel's own parser, nothing is changed;
#          2. the ruleset must have a rule that accepts TCP port 22: a ruleset without one is
#             refused before it gets near the kernel.
#   apply  does what iptables-apply does: saves the current ruleset on the server, arms a timer
#          THERE that restores it in FIREWALL_CONFIRM_SECONDS (default 30), loads FILE, and then
#          opens a NEW SSH connection from here. Only if that works is the timer cancelled and
#          FILE installed as /etc/nftables.conf (loaded at boot). If it does not (a drop rule
#          before the SSH rule, a wrong port...), the server restores the old ruleset by itself,
#          even though we can no longer reach it, and this script exits 1.
# The rollback lives on the server because the connection that could cancel it is exactly what a
# bad ruleset breaks.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$HERE/../../.." && pwd)
ENV_FILE=$(realpath -m "${TASKD_RUN_DIR:-$REPO_ROOT/.run}")/server/server.env
CONFIRM=${FIREWALL_CONFIRM_SECONDS:-30}

say() { echo "firewall: $*" >&2; }
die() { echo "firewall: error: $*" >&2; exit 1; }

[ -s "$ENV_FILE" ] || die "no server is up (make server-up)"
# shellcheck disable=SC1090
. "$ENV_FILE"

# on_server [SSH_OPTION...] -- COMMAND: one command on the server over a new SSH connection.
on_server() {
  local opts=()
  while [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  # SERVER_SSH_OPTS is a list of words; the command is meant to expand on the server.
  # shellcheck disable=SC2086,SC2029
  ssh $SERVER_SSH_OPTS "${opts[@]}" "$SERVER_USER@127.0.0.1" "$@"
}

# A rule in FILE that accepts TCP port 22 (by number, by name or in a set of ports).
keeps_ssh() {
  grep -Eq '^[^#]*tcp dport (22|ssh|\{[^}]*\b(22|ssh)\b[^}]*\})( [^#]*)? accept' "$1"
}

check() {
  local file=$1 out
  [ -r "$file" ] || die "cannot read $file"
  # shellcheck disable=SC2016 # $f is the server's
  if ! out=$(on_server -- 'f=$(mktemp) && cat >"$f" && sudo nft -c -f "$f"; s=$?; rm -f "$f"; exit $s' <"$file" 2>&1); then
    say "$file is not a valid ruleset (nft -c -f on the server):"
    echo "$out" >&2
    return 1
  fi
  if ! keeps_ssh "$file"; then
    say "refused: $file has no rule accepting tcp dport 22: it would lock SSH out"
    return 1
  fi
  say "$file: valid, and it accepts SSH"
}

apply() {
  local file=$1 unit deadline start left
  check "$file" || die "not applied"
  unit="firewall-rollback-$(date +%s)-$$"
  start=$(date +%s)
  deadline=$((start + CONFIRM - 4))
  say "applying $file; the server restores the previous ruleset in $CONFIRM s unless a new SSH connection confirms it"
  # One connection: save the current ruleset, arm the rollback, load the candidate. The load runs
  # as a unit of its own (it stays "active" once it succeeded, which the confirmation checks) and
  # it has finished before this connection ends, so every connection opened afterwards meets the
  # new ruleset. A ruleset that cuts established connections too leaves this one hanging:
  # ServerAlive and `timeout` end it, and the load is done by then.
  # shellcheck disable=SC2086 # SERVER_SSH_OPTS is a list of words
  timeout $((CONFIRM / 2)) ssh $SERVER_SSH_OPTS -o ServerAliveInterval=2 -o ServerAliveCountMax=2 \
    "$SERVER_USER@127.0.0.1" "set -e
    sudo install -d -m 0700 /var/lib/firewall
    { echo 'flush ruleset'; sudo nft list ruleset; } | sudo tee /var/lib/firewall/previous.nft >/dev/null
    f=\$(mktemp); cat >\"\$f\"; sudo install -m 0600 \"\$f\" /var/lib/firewall/candidate.nft; rm -f \"\$f\"
    sudo systemd-run --quiet --unit=$unit --on-active=${CONFIRM}s /usr/sbin/nft -f /var/lib/firewall/previous.nft
    sudo systemd-run --quiet --unit=$unit-load --property=Type=oneshot --property=RemainAfterExit=yes \\
      /usr/sbin/nft -f /var/lib/firewall/candidate.nft" <"$file" ||
    say "the applying connection ended with status $? (a ruleset that cuts established connections does that)"

  while [ "$(date +%s)" -lt "$deadline" ]; do
    # It confirms only when the candidate was loaded (the load unit succeeded) a second or more
    # before this connection was accepted: a connection made before the load would prove nothing.
    # The connection's time is the start of the sshd process that accepted it (the parent of the
    # session's sshd, which is our shell's parent), in microseconds since boot like systemd's.
    if on_server -o ConnectTimeout=3 -- "set -e
        systemctl is-active --quiet $unit-load.service
        loaded=\$(systemctl show -P ExecMainExitTimestampMonotonic $unit-load.service)
        conn=\$(ps -o ppid= -p \$PPID | tr -d ' ')
        ticks=\$(sed 's/.*) //' /proc/\$conn/stat | cut -d' ' -f20)
        [ \$((ticks * 1000000 / \$(getconf CLK_TCK))) -gt \$((loaded + 1000000)) ]
        sudo systemctl stop $unit.timer $unit-load.service
        sudo install -m 0755 /var/lib/firewall/candidate.nft /etc/nftables.conf" </dev/null 2>/dev/null; then
      say "confirmed by a new SSH connection after $(($(date +%s) - start)) s: kept, and installed as /etc/nftables.conf"
      return 0
    fi
    sleep 1
  done
  say "no new SSH connection got through: the server rolls back at $CONFIRM s"
  left=$((start + CONFIRM + 2 - $(date +%s)))
  [ "$left" -le 0 ] || sleep "$left"
  for _ in $(seq 1 15); do
    if on_server -o ConnectTimeout=3 -- true </dev/null 2>/dev/null; then
      die "rolled back: $file locked SSH out; the previous ruleset is in force again"
    fi
    sleep 1
  done
  die "rolled back, but SSH still does not answer: look with make server-status (podman exec)"
}

trap 'say "interrupted: if a ruleset was loaded, the server rolls it back by itself"' INT TERM

case "${1:-}" in
  check) [ $# -eq 2 ] || die "usage: firewall.sh check FILE"; check "$2" ;;
  apply) [ $# -eq 2 ] || die "usage: firewall.sh apply FILE"; apply "$2" ;;
  *) echo "usage: firewall.sh check|apply FILE" >&2; exit 2 ;;
esac
