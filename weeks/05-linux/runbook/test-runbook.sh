#!/usr/bin/env bash
# test-runbook.sh — the runbook scenarios' logic, without a server: scenarios.sh runs against a
# fake tree (RUNBOOK_ROOT) and stand-ins for systemctl, ss, nft and systemd-run that answer from
# files. For each scenario: the healthy server passes `check`, `break` (where it only touches
# files and the stand-ins) makes `check` fail with the right "still broken:" line, and the fix
# makes it pass again; a "fix" that opens everything (a flushed firewall, chmod 777) fails.
# What this cannot show: that the real systemd, ss and nft print what the stand-ins print. That
# is what running break.sh and check.sh against `make server-up`'s server shows.
#
# usage: test-runbook.sh      (called by weeks/05-linux/ops/test-ops.sh)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-runbook.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

stub=$tmp/state root=$tmp/root bin=$tmp/bin
mkdir -p "$stub/active" "$stub/show" "$bin"
export STUB=$stub RUNBOOK_ROOT=$root PATH="$bin:$PATH"

cat >"$bin/systemctl" <<'EOF'
#!/usr/bin/env bash
case $1 in
  is-active) # "activating" as many times as $STUB/activating says (a restart under way)
    n=$(cat "$STUB/activating" 2>/dev/null || echo 0)
    if [ "$n" -gt 0 ]; then echo $((n - 1)) >"$STUB/activating"; echo activating; exit 3; fi
    if [ -f "$STUB/active/$2" ]; then echo active; else echo inactive; exit 3; fi ;;
  show) cat "$STUB/show/$5.$3" 2>/dev/null || true ;;   # show -p PROP --value UNIT
  restart | start | stop | daemon-reload) echo "$*" >>"$STUB/calls" ;;
esac
EOF
cat >"$bin/ss" <<'EOF'
#!/usr/bin/env bash
cat "$STUB/ss" 2>/dev/null || true
EOF
cat >"$bin/nft" <<'EOF'
#!/usr/bin/env bash
case "$*" in
  "-j list chains") cat "$STUB/chains.json" ;;
  "list ruleset") cat "$STUB/ruleset" ;;
  "list chain "*) awk -v c="$5" '$0 ~ "chain " c " [{]" { on = 1 } on { print } on && /^\t}/ { exit }' "$STUB/ruleset" ;;
  "insert rule "*) awk -v c="$5" -v r="${*:6}" '{ print } $0 ~ "chain " c " [{]" { print "\t\t" r }' "$STUB/ruleset" >"$STUB/r.new"
                  mv "$STUB/r.new" "$STUB/ruleset" ;;
esac
EOF
cat >"$bin/systemd-run" <<'EOF'
#!/usr/bin/env bash
for a in "$@"; do case $a in --unit=*) : >"$STUB/active/${a#--unit=}.service" ;; esac; done
EOF
chmod +x "$bin"/*

passed=0 failed=0
# expect NAME WANT_STATUS GREP SCENARIO: check SCENARIO exits WANT_STATUS and prints GREP
expect() {
  local name=$1 want=$2 pat=$3 rc=0
  bash "$here/scenarios.sh" check "$4" >"$tmp/out" 2>&1 || rc=$?
  if [ "$rc" = "$want" ] && grep -qE -- "$pat" "$tmp/out"; then
    passed=$((passed + 1)); echo "  ok   $name"
  else
    failed=$((failed + 1)); echo "  FAIL $name (exit $rc, want $want and /$pat/)"; sed 's/^/       /' "$tmp/out"
  fi
}

# A healthy server: taskd active, pid 4242 listening on 8080, a 0755 binary, a 0600 secret, a
# ruleset with a default drop, SSH, the redirect, and 8080 closed to anything not redirected.
healthy() {
  rm -rf "$root" "$stub"/active/* "$stub/show"/*
  mkdir -p "$root/usr/bin" "$root/etc/taskd/credentials" "$root/proc/4242/fd" "$root/proc/77/fd"
  : >"$stub/active/taskd.service"
  echo '{ path=/usr/bin/taskd ; argv[]=/usr/bin/taskd ; ignore_errors=no }' >"$stub/show/taskd.service.ExecStart"
  echo 4242 >"$stub/show/taskd.service.MainPID"
  echo 65536 >"$stub/show/taskd.service.LimitNOFILESoft"
  echo 'tcp LISTEN 0 511 0.0.0.0:8080 0.0.0.0:* users:(("taskd",pid=4242,fd=7))' >"$stub/ss"
  printf '#!/bin/sh\n' >"$root/usr/bin/taskd" && chmod 0755 "$root/usr/bin/taskd"
  head -c 48 /dev/urandom >"$root/etc/taskd/credentials/jwt-secret"
  chmod 0600 "$root/etc/taskd/credentials/jwt-secret" && chmod 0700 "$root/etc/taskd/credentials"
  for i in 0 1 2 3 4 5 6 7; do ln -s /dev/null "$root/proc/4242/fd/$i"; done
  # What break saves of the healthy ruleset: its own drop of 8080 (not redirected from 80).
  mkdir -p "$root/var/lib/runbook" && echo 'tcp dport 8080 drop' >"$root/var/lib/runbook/firewall.before"
  echo '{"nftables":[{"metainfo":{}},{"chain":{"family":"inet","table":"taskd","name":"input","hook":"input","policy":"drop"}}]}' >"$stub/chains.json"
  cat >"$stub/ruleset" <<'EOF'
table inet taskd {
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ct state established,related accept
		tcp dport 22 ct state new limit rate 10/minute accept
		tcp dport 8080 ct status dnat accept
		tcp dport 8080 counter packets 3 bytes 180 drop
	}
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		tcp dport 80 redirect to :8080
	}
}
EOF
}

if [ "$(id -u)" = 0 ]; then owner_ok=1; else owner_ok=0; fi

echo "runbook scenarios (logic, stand-ins for systemd, ss and nft)"
for s in permission port disk fd-leak firewall secret-mode; do
  healthy
  if [ "$owner_ok" = 0 ] && { [ "$s" = permission ] || [ "$s" = secret-mode ]; }; then continue; fi
  expect "$s: a healthy server passes" 0 "$s: FIXED" "$s"
done

healthy
rm "$stub/active/taskd.service"
expect "any scenario: an inactive unit fails" 1 'still broken: taskd.service is not active' port
healthy
echo 2 >"$stub/activating"
expect "any scenario: a unit still activating (a restart under way) is waited for" 0 'ok: taskd.service is active' port
rm -f "$stub/activating"
healthy
echo 'tcp LISTEN 0 5 0.0.0.0:8080 0.0.0.0:* users:(("python3",pid=999,fd=3))' >"$stub/ss"
expect "any scenario: someone else on 8080 fails" 1 "port 8080 is not held by taskd.service's main process 4242" port
# Root without CAP_SYS_PTRACE (the week's server is a container): ss shows no process, only
# the uid that made the socket (ss -e).
healthy
echo nobody >"$stub/show/taskd.service.User"
echo "tcp LISTEN 0 511 0.0.0.0:8080 0.0.0.0:* uid:$(id -u nobody) ino:4247140 sk:78" >"$stub/ss"
expect "no process visible: a socket of the unit's user passes" 0 "held by a socket of nobody" port
echo 'tcp LISTEN 0 5 0.0.0.0:8080 0.0.0.0:* uid:0 ino:4247141 sk:79' >"$stub/ss"
expect "no process visible: root's socket (a squatter) fails" 1 "held by uid 0, not by taskd.service's user nobody" port
: >"$stub/ss"
expect "nothing on 8080 fails" 1 "nothing listens on port 8080" port

if [ "$owner_ok" = 1 ]; then
  healthy
  bash "$here/scenarios.sh" break permission >/dev/null
  expect "permission: the broken binary fails" 1 'taskd has mode 644' permission
  chmod 0777 "$root/usr/bin/taskd"
  expect "permission: chmod 777 is not a fix" 1 'taskd has mode 777' permission
  chmod 0755 "$root/usr/bin/taskd"
  expect "permission: mode 755 is fixed" 0 'permission: FIXED' permission

  healthy
  bash "$here/scenarios.sh" break secret-mode >/dev/null
  expect "secret-mode: a world-readable secret fails" 1 'jwt-secret is 644 root' secret-mode
  chmod 0600 "$root/etc/taskd/credentials/jwt-secret"
  expect "secret-mode: the directory's mode still fails" 1 'credentials has mode 755' secret-mode
  chmod 0700 "$root/etc/taskd/credentials"
  expect "secret-mode: 0600 in a 0700 directory is fixed" 0 'secret-mode: FIXED' secret-mode
  rm "$root/etc/taskd/credentials/jwt-secret"
  expect "secret-mode: deleting the secret is not a fix" 1 'no secret left' secret-mode
else
  echo "  (not root: the permission and secret-mode checks need root-owned files; skipped)"
fi

healthy
bash "$here/scenarios.sh" break port >/dev/null
expect "port: the squatter fails" 1 'runbook-squatter.service still runs' port
rm "$stub/active/runbook-squatter.service"
expect "port: without the squatter it is fixed" 0 'port: FIXED' port

healthy
truncate -s 100M "$tmp/big"
ln -s "$tmp/big (deleted)" "$root/proc/77/fd/3"
ln -f "$tmp/big" "$tmp/big (deleted)"
expect "disk: a 100 MiB deleted file held open fails" 1 'a deleted file of 64 MiB or more is still open' disk
rm "$root/proc/77/fd/3"
expect "disk: closed, it is fixed" 0 'disk: FIXED' disk

healthy
: >"$stub/active/runbook-leaker.service"
echo 64 >"$stub/show/taskd.service.LimitNOFILESoft"
for i in $(seq 8 40); do ln -s /dev/null "$root/proc/4242/fd/$i"; done
expect "fd-leak: the leaker fails" 1 'runbook-leaker.service still holds' fd-leak
expect "fd-leak: the low limit fails" 1 'may open only 64 files' fd-leak
expect "fd-leak: half the limit in use fails" 1 'holds 41 descriptors, half or more of its limit 64' fd-leak
rm "$stub/active/runbook-leaker.service"
echo 65536 >"$stub/show/taskd.service.LimitNOFILESoft"
expect "fd-leak: leaker gone and the limit back is fixed" 0 'fd-leak: FIXED' fd-leak

healthy
rm -rf "$root/var/lib/runbook"
bash "$here/scenarios.sh" break firewall >/dev/null
expect "firewall: the planted drop fails" 1 'a rule the server did not have drops its port' firewall
expect "firewall: the server's own 8080 drop is not blamed" 1 'drops its port: tcp dport 8080 drop comment' firewall
sed -i '/comment "runbook"/d' "$stub/ruleset"
expect "firewall: the planted rule deleted is fixed" 0 'firewall: FIXED' firewall
sed -i 's/policy drop;/policy accept;/' "$stub/ruleset"
expect "firewall: policy accept is not a fix" 1 "input chain's policy is 'accept'" firewall
sed -i 's/policy accept;/policy drop;/; /dport 22/d' "$stub/ruleset"
expect "firewall: losing the SSH rule is not a fix" 1 'no rule for SSH' firewall

rc=0
bash "$here/scenarios.sh" check nonsense >/dev/null 2>&1 || rc=$?
if [ "$rc" = 2 ]; then passed=$((passed + 1)); echo "  ok   an unknown scenario is exit 2"; else
  failed=$((failed + 1)); echo "  FAIL an unknown scenario is exit $rc, want 2"; fi

echo "test-runbook: $passed passed, $failed failed"
[ "$failed" = 0 ]
