#!/usr/bin/env bash
# slots.sh — blue/green on the week-5 server. It runs ON the server, as root: bluegreen.sh sends
# it over SSH on stdin (nothing is installed there to run it). Two slots, blue (port 8081) and
# green (8082), each run one release of taskd from /opt/taskd/releases/VERSION/. The public port 80
# reaches the live slot through week 5's nat rule (`tcp dport 80 redirect to :PORT`); switching
# is one atomic nftables transaction that rewrites that rule. Connections already open keep the
# slot they were opened to (conntrack remembers their translation), new ones go to the new slot,
# so no request fails during the switch. The slot that served before keeps running: a rollback is
# one more switch, in about a second. Before any slot exists, week 5's taskd.service on 8080 is
# the live one (the "legacy" slot), so the first blue/green deploy takes over from it the same way.
#
# usage (as root on the server):
#   slots.sh prepare                 the template units and the firewall's slot ports (idempotent)
#   slots.sh deploy DEB [SMOKE]      unpack DEB, start it on the idle slot, wait until it is ready,
#                                    smoke-test its API on its own port, switch to it, then
#                                    smoke-test a background job (the workers follow the switch);
#                                    when that fails, switch back at once. The old slot keeps
#                                    running either way. SMOKE=0 skips both smoke tests.
#   slots.sh rollback                switch back to the slot that served before (started again if
#                                    it had stopped) and make it the live one
#   slots.sh status                  the live and previous slots, their versions and states
# State: which slot is live is read from the nat rule itself; /var/lib/taskd-deploy/slots.env
# keeps PREVIOUS, the slot a rollback returns to. The last line of deploy and
# rollback is for scripts: "slots: result=deployed|not-ready|smoke-failed|rolled-back ...".
# Exit status: 0 done; 1 the new release was refused (not ready, or a smoke test failed) and the
# slot that served before serves again; 2 bad usage or a broken server.
#
# Sourced with SLOTS_LIB=1 it defines its functions and runs nothing: week 8's unit suite
# (weeks/08-cicd/tests/unit_slots.c) calls ready and rollback that way, with fake systemctl, curl
# and nft first on PATH and the paths below pointed into a scratch directory.
set -euo pipefail

STATE_DIR=${STATE_DIR:-/var/lib/taskd-deploy}
STATE=$STATE_DIR/slots.env
RELEASES=${RELEASES:-/opt/taskd/releases}
SLOTS=${SLOTS:-/opt/taskd/slots}
NFT_CONF=${NFT_CONF:-/etc/nftables.conf}
READY_SECONDS=${READY_SECONDS:-60}

say() { echo "slots: $*" >&2; }
die() { echo "slots: error: $*" >&2; exit 2; }

port_of() {
  case $1 in
    legacy) echo 8080 ;;
    blue) echo 8081 ;;
    green) echo 8082 ;;
    *) die "no slot $1" ;;
  esac
}
unit_of() { [ "$1" = legacy ] && echo taskd.service || echo "taskd@$1.service"; }
worker_of() { [ "$1" = legacy ] && echo taskd-worker.service || echo "taskd-worker@$1.service"; }
version_of() {
  if [ "$1" = legacy ]; then
    dpkg-query -W -f '${Version}' taskd 2>/dev/null || echo none
  else
    basename "$(readlink "$SLOTS/$1" 2>/dev/null || echo none)"
  fi
}

# LIVE is read from the firewall, the one place that decides where users go (a provisioning
# run that rewrote the ruleset sends them back to legacy, and LIVE says so); PREVIOUS is kept in
# the state file.
load_state() {
  PREVIOUS=""
  # shellcheck disable=SC1090 # written by save_state below
  [ -f "$STATE" ] && . "$STATE"
  case $(live_port) in
    8081) LIVE=blue ;;
    8082) LIVE=green ;;
    *) LIVE=legacy ;;
  esac
  [ "$PREVIOUS" != "$LIVE" ] || PREVIOUS=""
}
save_state() {
  mkdir -p "$STATE_DIR"
  printf 'PREVIOUS=%s\n' "$PREVIOUS" >"$STATE.tmp" && mv "$STATE.tmp" "$STATE"
}

# The port that public port 80 is redirected to now, read from the live ruleset.
live_port() { nft list chain inet nat prerouting | sed -nE 's/.*tcp dport 80 redirect to :([0-9]+).*/\1/p' | head -1; }

# ---- prepare: the units and the firewall ----
# The slot units are week 5's, with the binary taken from the slot's release and the port from
# the slot's own settings file (read after taskd.env, so its PORT wins). Generated from the
# installed units, so they keep every hardening line of week 5 without a copy to keep in step.
template() {
  local src=$1 dst=$2
  [ -f "$src" ] || die "$src is missing: install the taskd package first (make deploy-server)"
  sed -E -e 's|^Description=(.*)|Description=\1, blue/green slot %i|' \
    -e 's|^ExecStart=/usr/bin/([a-z-]+)|ExecStart=/opt/taskd/slots/%i/usr/bin/\1|' \
    -e 's|^(EnvironmentFile=/etc/taskd/taskd.env)$|\1\nEnvironmentFile=/etc/taskd/slot-%i.env|' \
    -e '/^\[Install\]/,$d' "$src" >"$dst.tmp"
  if ! grep -q '^ExecStart=/opt/taskd/slots/%i/' "$dst.tmp" || ! grep -q 'slot-%i.env' "$dst.tmp"; then
    die "$src does not have the ExecStart= and EnvironmentFile= lines this expects"
  fi
  mv "$dst.tmp" "$dst"
}
prepare() {
  template /usr/lib/systemd/system/taskd.service /etc/systemd/system/taskd@.service
  template /usr/lib/systemd/system/taskd-worker.service /etc/systemd/system/taskd-worker@.service
  for slot in blue green; do
    printf '# Written by slots.sh: the settings of slot %s (after taskd.env, so these win).\nPORT=%s\n' \
      "$slot" "$(port_of "$slot")" >"/etc/taskd/slot-$slot.env"
  done
  systemctl daemon-reload
  mkdir -p "$RELEASES" "$SLOTS" "$STATE_DIR"
  # The firewall accepts port-80 traffic redirected to 8080 only (week 5). The slots' ports must
  # take it too, and still nothing sent to them directly.
  if ! grep -qE 'tcp dport \{ 8080, 8081, 8082 \} ct status dnat accept' "$NFT_CONF"; then
    grep -qE '^\s*tcp dport 8080 ct status dnat accept' "$NFT_CONF" ||
      die "$NFT_CONF has no line 'tcp dport 8080 ct status dnat accept' to widen to the slots' ports: add 'tcp dport { 8080, 8081, 8082 } ct status dnat accept' to its input chain"
    sed -i -E 's/^(\s*)tcp dport 8080 ct status dnat accept/\1tcp dport { 8080, 8081, 8082 } ct status dnat accept/' "$NFT_CONF"
    # Keep the live redirect as it is: the file says 8080, the server may be on a slot already.
    local port
    port=$(live_port)
    nft -c -f "$NFT_CONF" || die "the widened $NFT_CONF does not load"
    nft -f "$NFT_CONF"
    [ -z "$port" ] || switch_to_port "$port"
    say "firewall: redirected port-80 traffic may now reach 8081 and 8082 too"
  fi
}

# ---- the switch ----
# One nftables transaction: the chain is emptied and its one rule added back with the new port,
# atomically (no packet sees an empty chain). The file is rewritten too, for the next boot.
switch_to_port() {
  nft -f - <<EOF
flush chain inet nat prerouting
add rule inet nat prerouting tcp dport 80 redirect to :$1
EOF
  sed -i -E "s/(tcp dport 80 redirect to :)[0-9]+/\\1$1/" "$NFT_CONF"
}

# ready SLOT INVOCATION_BEFORE: the slot's unit runs a new invocation, systemd calls it active
# (taskd said READY=1), and its own port answers /health and /ready with 200. 0 when it is ready,
# 1 (saying why) when its unit failed or READY_SECONDS went by first.
ready() {
  # LAB:BEGIN 8.2 Poll until the slot's unit is active in a new invocation and its own port answers /health and /ready; 1 at once when the unit failed, 1 after READY_SECONDS
  local slot=$1 before=$2 unit port deadline state inv
  unit=$(unit_of "$slot") port=$(port_of "$slot")
  deadline=$((SECONDS + READY_SECONDS))
  while [ $SECONDS -lt $deadline ]; do
    state=$(systemctl show -p ActiveState --value "$unit")
    inv=$(systemctl show -p InvocationID --value "$unit")
    if [ "$state" = failed ]; then
      say "$unit failed"
      return 1
    fi
    if [ "$state" = active ] && [ "$inv" != "$before" ] &&
      curl -fsS -m 3 -o /dev/null "http://127.0.0.1:$port/health" &&
      curl -fsS -m 3 -o /dev/null "http://127.0.0.1:$port/ready"; then
      return 0
    fi
    sleep 0.5
  done
  say "$unit not ready after $READY_SECONDS s (state: ${state:-?})"
  return 1
  # LAB:END say "TODO(lab 8.2): ready"; return 1
}

# smoke_api SLOT: what a user does first, on the slot's own port: register, log in, create a
# task, read it back. The account is throwaway (a random address); its token is kept in TOKEN
# for smoke_job.
smoke_api() {
  local base email id body
  base="http://127.0.0.1:$(port_of "$1")"
  email="smoke-$(date +%s)-$RANDOM@example.org"
  body=$(jq -nc --arg e "$email" '{email: $e, password: "smoke-test-password"}')
  curl -fsS -m 5 -o /dev/null -H 'Content-Type: application/json' -d "$body" "$base/auth/register" ||
    { say "smoke: POST /auth/register failed"; return 1; }
  TOKEN=$(curl -fsS -m 5 -H 'Content-Type: application/json' -d "$body" "$base/auth/login" | jq -er .access_token) ||
    { say "smoke: POST /auth/login failed"; return 1; }
  id=$(curl -fsS -m 5 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"title": "smoke test"}' "$base/tasks" | jq -er .id) || { say "smoke: POST /tasks failed"; return 1; }
  curl -fsS -m 5 -o /dev/null -H "Authorization: Bearer $TOKEN" "$base/tasks/$id" ||
    { say "smoke: GET /tasks/$id failed"; return 1; }
}

# smoke_job SLOT: a background job end to end, which readiness does not cover: an export is
# queued and must succeed within 20 s (only the live slot's worker runs, so this is after the
# switch). Uses smoke_api's TOKEN.
smoke_job() {
  local base job status=""
  base="http://127.0.0.1:$(port_of "$1")"
  job=$(curl -fsS -m 5 -X POST -H "Authorization: Bearer $TOKEN" "$base/exports" | jq -er .id) ||
    { say "smoke: POST /exports failed"; return 1; }
  for _ in $(seq 1 40); do
    status=$(curl -fsS -m 5 -H "Authorization: Bearer $TOKEN" "$base/jobs/$job" | jq -r .status) || status=""
    case $status in
      succeeded) return 0 ;;
      failed) break ;;
    esac
    sleep 0.5
  done
  say "smoke: the export job $job did not succeed (status: ${status:-no answer}); the worker's last lines:"
  journalctl -u "$(worker_of "$1")" -n 5 --no-pager -o cat | sed 's/^/    /' >&2 || true
  return 1
}

# make_live SLOT: traffic to SLOT, its worker up and the other workers down; SLOT becomes LIVE
# and the slot that was live becomes PREVIOUS (its taskd keeps running, for the rollback).
# Returns 1 when SLOT's worker does not start (the switch has happened: the caller switches back).
make_live() {
  local slot=$1 old
  load_state
  old=$LIVE
  switch_to_port "$(port_of "$slot")"
  LIVE=$slot
  [ "$old" = "$slot" ] || PREVIOUS=$old
  save_state
  if ! systemctl start "$(worker_of "$slot")"; then
    say "$(worker_of "$slot") did not start; its last lines:"
    journalctl -u "$(worker_of "$slot")" -n 5 --no-pager -o cat | sed 's/^/    /' >&2 || true
    return 1
  fi
  for s in legacy blue green; do
    [ "$s" = "$slot" ] || systemctl stop "$(worker_of "$s")" 2>/dev/null || true
  done
}

deploy() {
  local deb=$1 do_smoke=${2:-1} version release slot before start
  start=$SECONDS
  [ -s "$deb" ] || die "no package $deb"
  prepare
  version=$(dpkg-deb -f "$deb" Version)
  release="$RELEASES/$version"
  # The libraries it needs, from Debian (nothing to do when the last release needed the same).
  apt-get satisfy -y -q "$(dpkg-deb -f "$deb" Depends)" >/dev/null ||
    die "cannot install what $version depends on: $(dpkg-deb -f "$deb" Depends)"
  rm -rf "$release.tmp" && mkdir -p "$release.tmp" && dpkg-deb -x "$deb" "$release.tmp"
  rm -rf "$release" && mv "$release.tmp" "$release"

  load_state
  # The idle slot: blue or green, whichever is not live.
  slot=blue
  [ "$LIVE" != blue ] || slot=green
  # It may be PREVIOUS, still running the release before: stopped now (no new connection has
  # reached it since the last switch; taskd finishes what is in flight before it exits).
  before=$(systemctl show -p InvocationID --value "$(unit_of "$slot")")
  ln -sfn "$release" "$SLOTS/$slot.tmp" && mv -T "$SLOTS/$slot.tmp" "$SLOTS/$slot"
  say "starting $version on slot $slot (port $(port_of "$slot")); $LIVE ($(version_of "$LIVE")) keeps serving"
  systemctl restart "$(unit_of "$slot")" || true
  if ! ready "$slot" "$before"; then
    journalctl -u "$(unit_of "$slot")" -n 10 --no-pager -o cat | sed 's/^/    /' >&2 || true
    systemctl stop "$(unit_of "$slot")" || true
    [ "$PREVIOUS" != "$slot" ] || { PREVIOUS=""; save_state; }
    echo "slots: result=not-ready version=$version slot=$slot live=$LIVE seconds=$((SECONDS - start))"
    return 1
  fi
  if [ "$do_smoke" = 1 ] && ! smoke_api "$slot"; then
    systemctl stop "$(unit_of "$slot")" || true
    [ "$PREVIOUS" != "$slot" ] || { PREVIOUS=""; save_state; }
    echo "slots: result=smoke-failed version=$version slot=$slot live=$LIVE seconds=$((SECONDS - start))"
    return 1
  fi
  local old=$LIVE
  if ! make_live "$slot" || { [ "$do_smoke" = 1 ] && ! smoke_job "$slot"; }; then
    # Back at once: the old slot never stopped, so this is one more switch.
    make_live "$old" || say "the worker of $old did not start again either: see journalctl"
    PREVIOUS=""
    save_state
    systemctl stop "$(worker_of "$slot")" "$(unit_of "$slot")" || true
    echo "slots: result=smoke-failed version=$version slot=$slot live=$LIVE rolled_back=yes seconds=$((SECONDS - start))"
    return 1
  fi
  # The slot before the old one (if any other than these two) has nothing left to do.
  for s in legacy blue green; do
    [ "$s" = "$slot" ] || [ "$s" = "$old" ] || systemctl stop "$(unit_of "$s")" 2>/dev/null || true
  done
  echo "slots: result=deployed version=$version slot=$slot previous=$old seconds=$((SECONDS - start))"
}

# rollback: back to PREVIOUS, the slot that served before the last switch. Its taskd kept
# running, so this is one switch; if it has stopped since, it is started and must be ready first.
# The slot it leaves becomes PREVIOUS in turn (a second rollback undoes the first).
rollback() {
  # LAB:BEGIN 8.3 Switch back to PREVIOUS (die when there is none); start it first and wait until it is ready if it had stopped; the slot left becomes PREVIOUS
  local start=$SECONDS target before
  load_state
  target=$PREVIOUS
  [ -n "$target" ] || die "nothing to roll back to: no previous slot (deploy twice first)"
  if [ "$(systemctl show -p ActiveState --value "$(unit_of "$target")")" != active ]; then
    say "slot $target had stopped: starting it again"
    before=$(systemctl show -p InvocationID --value "$(unit_of "$target")")
    systemctl start "$(unit_of "$target")"
    ready "$target" "$before" || die "slot $target ($(version_of "$target")) is not ready: not switching"
  fi
  local from=$LIVE
  make_live "$target" || die "switched to $target, but its worker did not start (journalctl -u $(worker_of "$target"))"
  echo "slots: result=rolled-back live=$target version=$(version_of "$target") from=$from seconds=$((SECONDS - start))"
  # LAB:END die "TODO(lab 8.3): rollback"
}

# status: each slot's units, the release it holds, and the version its taskd answers on /health
# (stage 8): the two differ only while a slot runs a release it was not restarted into.
status() {
  load_state
  local s answers
  for s in legacy blue green; do
    answers=$(curl -fsS -m 2 "http://127.0.0.1:$(port_of "$s")/health" 2>/dev/null | jq -r '.version // "?"' 2>/dev/null) || answers=""
    printf '%-7s port %s  %-9s %-8s %-24s answers %-24s%s\n' "$s" "$(port_of "$s")" \
      "$(systemctl show -p ActiveState --value "$(unit_of "$s")" 2>/dev/null)" \
      "$(systemctl show -p ActiveState --value "$(worker_of "$s")" 2>/dev/null)" "$(version_of "$s")" "${answers:--}" \
      "$([ "$s" = "$LIVE" ] && echo '  <- live' || { [ "$s" = "$PREVIOUS" ] && echo '  (previous)'; } || true)"
  done
  echo "port 80 -> $(live_port)"
}

main() {
  [ "$(id -u)" = 0 ] || die "run as root (bluegreen.sh does: sudo bash -s)"
  case ${1:-} in
    prepare) prepare ;;
    deploy) deploy "${2:?usage: slots.sh deploy DEB [SMOKE]}" "${3:-1}" ;;
    rollback) rollback ;;
    status) status ;;
    *) die "usage: slots.sh prepare | deploy DEB [SMOKE] | rollback | status" ;;
  esac
}
[ "${SLOTS_LIB:-0}" = 1 ] || main "$@"
