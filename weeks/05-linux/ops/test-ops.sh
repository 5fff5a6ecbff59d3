#!/usr/bin/env bash
# test-ops.sh — runs week 5's operator scripts for real and checks what they print and leave
# behind (`make test-ops`). Each check compares with an answer found another way (grep and awk
# on the same lines, the files on disk, /proc), so a script that answers wrongly fails.
#
#   logq.sh     on testdata/taskd-week4.jsonl: real lines of build/week-4/taskd, recorded while
#               it served a register, logins, task requests and a PostgreSQL outage (503s);
#               the same lines in the shape `journalctl -o json` gives them; a time window
#   backup.sh   against this checkout's PostgreSQL (services.sh up postgres): dumps verified,
#               rotation past --daily/--weekly, a restore that has the rows, a failed dump and
#               an empty database that leave every old backup in place
#   whatsup.sh  on a port this test opens, a file it holds open and then deletes, its own pids
#   runbook     weeks/05-linux/runbook/test-runbook.sh: the scenarios' checks against stand-ins
#   (and)       shellcheck on every script of weeks/05-linux/ops and weeks/05-linux/runbook
#
# usage: test-ops.sh        (from anywhere; exit 0 when every check passed)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cd "$repo"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-ops.XXXXXX")
pids=()
dbs=()
cleanup() {
  local p d
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for d in "${dbs[@]}"; do bash shared/scripts/services.sh drop-db "$d" >/dev/null 2>&1 || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "  ok   $1"; }
bad() { failed=$((failed + 1)); echo "  FAIL $1"; [ -z "${2:-}" ] || printf '%s\n' "$2" | head -20 | sed 's/^/       /'; }
# same NAME EXPECTED GOT
same() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "$(printf 'expected:\n%s\ngot:\n%s' "$2" "$3")"; fi; }
# status NAME WANT CMD...: CMD exits with WANT
status() {
  local name=$1 want=$2 rc=0
  shift 2
  "$@" >"$tmp/out" 2>&1 || rc=$?
  if [ "$rc" = "$want" ]; then ok "$name"; else bad "$name (exit $rc, want $want)" "$(cat "$tmp/out")"; fi
}

logq=$here/logq.sh backup=$here/backup.sh whatsup=$here/whatsup.sh
sample=$here/testdata/taskd-week4.jsonl

# ---------------------------------------------------------------- logq
echo "logq.sh"
requests=$(grep -c '"msg":"request"' "$sample")
[ "$requests" -ge 20 ] || bad "the sample has at least 20 requests" "it has $requests"

# Per-status counts, with grep and sort instead of jq.
want=$(grep '"msg":"request"' "$sample" | grep -o '"status":[0-9]*' | cut -d: -f2 | sort | uniq -c |
  awk '{ print $2 "\t" $1 }' | sort -t$'\t' -k2,2nr -k1,1n)
same "status: the counts per status code" "$want" "$("$logq" --file "$sample" status)"

# The three slowest, with sed and sort.
want=$(grep '"msg":"request"' "$sample" | sed -E 's/.*"request_id":"([^"]*)".*"duration_ms":([0-9.]+).*/\2 \1/' |
  sort -rn | head -3 | cut -d' ' -f2)
same "slow 3: the three slowest request ids, slowest first" "$want" "$("$logq" --file "$sample" slow 3 | cut -f5)"

want=$(grep -cE '"level":"error"|"status":5[0-9][0-9]' "$sample")
same "errors: every error line and 5xx" "$want" "$("$logq" --file "$sample" errors | wc -l)"

id=$(grep '"status":404' "$sample" | head -1 | sed -E 's/.*"request_id":"([^"]*)".*/\1/')
same "request ID: the lines of one request" "$(grep -c "$id" "$sample")" "$("$logq" --file "$sample" request "$id" | wc -l)"

want=$(grep '"path":"/tasks"' "$sample" | grep -c '"method":"GET"')
same "routes: GET /tasks counted" "$want" "$("$logq" --file "$sample" routes | awk -F'\t' '$1 == "GET /tasks" { print $2 }')"

# The journal's shape: what `journalctl -u taskd -o json` prints for these lines (MESSAGE is
# the line; a MESSAGE that is not UTF-8 comes as an array of bytes).
jq -c '{__REALTIME_TIMESTAMP: "1796473381000000", _SYSTEMD_UNIT: "taskd.service", PRIORITY: "6",
        _PID: "4242", SYSLOG_IDENTIFIER: "taskd", MESSAGE: tojson}' "$sample" >"$tmp/journal.json"
jq -nc '{__REALTIME_TIMESTAMP: "1796473381000000", MESSAGE: ("{\"level\":\"error\",\"msg\":\"bytes\"}" | explode)}' >>"$tmp/journal.json"
jq -nc '{__REALTIME_TIMESTAMP: "1796473381000000", MESSAGE: "taskd: not JSON"}' >>"$tmp/journal.json"
same "journal input: the same status counts as the lines themselves" \
  "$("$logq" --file "$sample" status)" "$("$logq" --file "$tmp/journal.json" status 2>/dev/null)"
same "journal input: a MESSAGE sent as bytes is read" \
  "$(($("$logq" --file "$sample" errors | wc -l) + 1))" "$("$logq" --file "$tmp/journal.json" errors 2>/dev/null | wc -l)"
"$logq" --file "$tmp/journal.json" status 2>"$tmp/err" >/dev/null
same "journal input: the line that is not JSON is skipped and counted" \
  "logq: skipped 1 line(s) that are not taskd's JSON" "$(cat "$tmp/err")"
grep -F "$id" "$sample" | jq -c '{__REALTIME_TIMESTAMP: "1796473381000000", MESSAGE: [tojson, "a repeated MESSAGE"]}' >"$tmp/repeated.json"
jq -nc '{__REALTIME_TIMESTAMP: "1796473381000000", MESSAGE: null}' >>"$tmp/repeated.json"
same "journal input: a repeated MESSAGE (an array of strings) is read, a null one skipped" \
  "$(grep -F "$id" "$sample" | jq -c .)" "$("$logq" --file "$tmp/repeated.json" request "$id" 2>/dev/null)"
same "stdin: piped lines are read" "$("$logq" --file "$sample" status)" "$("$logq" status <"$sample")"

# --since: the first half of the requests 3 hours old, the rest 2 minutes old.
half=$((requests / 2))
jq -c -s --arg old "$(date -u -d '-3 hours' +%Y-%m-%dT%H:%M:%S.000000Z)" \
  --arg new "$(date -u -d '-2 min' +%Y-%m-%dT%H:%M:%S.000000Z)" --argjson h "$half" \
  'map(select(.msg == "request")) | to_entries[] | .value + {ts: (if .key < $h then $old else $new end)}' \
  "$sample" >"$tmp/window.jsonl"
same "--since 30: only the last 30 minutes" "$((requests - half))" \
  "$("$logq" --file "$tmp/window.jsonl" --since 30 status | awk -F'\t' '{ s += $2 } END { print s + 0 }')"

status "usage: an unknown command is exit 2" 2 "$logq" --file "$sample" frobnicate
status "usage: slow 0 is exit 2" 2 "$logq" --file "$sample" slow 0
status "an unreadable file is exit 1" 1 "$logq" --file "$tmp/absent" status
status "--help is exit 0" 0 "$logq" --help

# ---------------------------------------------------------------- backup
echo "backup.sh (PostgreSQL of this checkout)"
bash shared/scripts/services.sh up postgres >"$tmp/services.log" 2>&1 || { cat "$tmp/services.log"; exit 1; }
set -a
# shellcheck disable=SC1091
. .run/services.env
set +a
PG_BIN=$(bash shared/scripts/services.sh pg-bin)
export PG_BIN
new_db() { local u; u=$(bash shared/scripts/services.sh fresh-db); dbs+=("${u##*/}"); echo "$u"; }
db=$(new_db)
"$PG_BIN/psql" -qX -v ON_ERROR_STOP=1 "$db" -c \
  "CREATE TABLE tasks (id bigint PRIMARY KEY, title text); INSERT INTO tasks SELECT g, 'task ' || g FROM generate_series(1, 250) g;" \
  >/dev/null
bdir=$tmp/backups
mkdir -p "$bdir"
# 11 nights, Sunday 2026-11-15 (ISO week 46) to Wednesday 2026-11-25 (week 48), and a second
# dump on the last day. --daily 3 --weekly 2 keeps the newest of the 3 newest days (23, 24, 25)
# and of the 2 newest weeks (week 48: the 25th, already kept; week 47: Sunday the 22nd); week
# 46's Sunday is a third week, and goes.
runs_ok=1
for d in $(seq 15 25); do
  "$backup" --url "$db" --dir "$bdir" --daily 3 --weekly 2 --now "202611${d}T010000Z" 2>>"$tmp/backup.log" || runs_ok=0
done
"$backup" --url "$db" --dir "$bdir" --daily 3 --weekly 2 --now 20261125T020000Z 2>>"$tmp/backup.log" || runs_ok=0
same "12 nightly runs succeed" 1 "$runs_ok"
want=$(printf 'taskd-%s.dump\n' 20261122T010000Z 20261123T010000Z 20261124T010000Z 20261125T020000Z)
same "rotation keeps 3 daily + 2 weekly (the newest of each)" "$want" "$(ls "$bdir")"
same "dumps are readable by their owner only (0600)" "600" "$(stat -c %a "$bdir"/taskd-20261125T020000Z.dump)"
status "--verify: a kept dump verifies" 0 "$backup" --verify "$bdir/taskd-20261122T010000Z.dump"
head -c 2000 "$bdir/taskd-20261125T020000Z.dump" >"$tmp/truncated.dump"
status "--verify: a truncated dump does not" 1 "$backup" --verify "$tmp/truncated.dump"

restored=$(new_db)
"$PG_BIN/pg_restore" --no-owner -d "$restored" "$bdir/taskd-20261125T020000Z.dump"
same "the newest dump restores with every row" 250 "$("$PG_BIN/psql" -qXAt "$restored" -c 'SELECT count(*) FROM tasks')"

before=$(ls -l --time-style=+%s "$bdir")
status "a dump of a database that does not exist fails" 1 \
  "$backup" --url "${db%/*}/no_such_database" --dir "$bdir" --daily 1 --weekly 0 --now 20261126T010000Z
same "... and leaves every old backup, and no partial file" "$before" "$(ls -l --time-style=+%s "$bdir")"
same "... and no hidden partial file" "" "$(find "$bdir" -name '.*' -type f)"
empty=$(new_db)
status "a dump with no table data fails its verification" 1 \
  "$backup" --url "$empty" --dir "$bdir" --daily 1 --weekly 0 --now 20261126T010000Z
same "... and leaves every old backup" "$before" "$(ls -l --time-style=+%s "$bdir")"
status "--daily 0 --weekly 0 is refused" 2 "$backup" --url "$db" --dir "$bdir" --daily 0 --weekly 0
status "a bad --now is refused" 2 "$backup" --url "$db" --dir "$bdir" --now yesterday
# A password in the URL reaches pg_dump in PGPASSWORD, never on its command line (bash -x
# prints each command as it runs it, expanded).
pw=${db#*://*:}
pw=${pw%%@*}
if [ -n "$pw" ] && [ "$pw" != "$db" ]; then
  bash -x "$backup" --url "$db" --dir "$tmp/pw" --daily 1 --weekly 0 >"$tmp/xtrace" 2>&1 || true
  same "the dump ran (traced)" 1 "$(grep -c -- ' -w -Fc --dbname=' "$tmp/xtrace")"
  same "the password is not on pg_dump's command line" 0 "$(grep -- ' -w -Fc --dbname=' "$tmp/xtrace" | grep -c -F -- "$pw" || true)"
else
  echo "  (the URL has no password: the PGPASSWORD check does not apply)"
fi

# ---------------------------------------------------------------- whatsup
echo "whatsup.sh"
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(300)
' >"$tmp/port" &
lpid=$!
pids+=("$lpid")
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port")
"$whatsup" port "$port" >"$tmp/out" 2>&1 || true
if grep -q "process $lpid:" "$tmp/out" && grep -q "127.0.0.1:$port" "$tmp/out"; then ok "port: names the listener's pid"; else bad "port: names the listener's pid ($lpid)" "$(cat "$tmp/out")"; fi
status "port: a port nobody listens on is exit 1" 1 "$whatsup" port 1
status "port: 70000 is not a port (exit 2)" 2 "$whatsup" port 70000
"$whatsup" pid "$lpid" >"$tmp/out" 2>&1 || true
nfd=$(find "/proc/$lpid/fd" -mindepth 1 -maxdepth 1 | wc -l)
if grep -q "open descriptors: $nfd of " "$tmp/out" && grep -q "listens: tcp 127.0.0.1:$port" "$tmp/out"; then ok "pid: descriptor count and the listening socket"; else bad "pid: descriptor count ($nfd) and the listening socket" "$(cat "$tmp/out")"; fi
status "pid: a pid that does not exist is exit 1" 1 "$whatsup" pid 999999999

held=$tmp/held.log
head -c 300000 /dev/zero >"$held"
(exec 3<"$held" && exec sleep 300) &
hpid=$!
pids+=("$hpid")
for _ in $(seq 50); do [ "$(readlink "/proc/$hpid/fd/3" 2>/dev/null)" = "$held" ] && break; sleep 0.1; done
"$whatsup" file "$held" >"$tmp/out" 2>&1 || true
if grep -qw "$hpid" "$tmp/out"; then ok "file: names the process holding it"; else bad "file: names the process holding it ($hpid)" "$(cat "$tmp/out")"; fi
rm -f "$held"
"$whatsup" deleted >"$tmp/out" 2>&1 || true
if grep -qE "^  300000[[:space:]]+${hpid}[[:space:]]+sleep[[:space:]]+$held \(deleted\)$" "$tmp/out"; then ok "deleted: the deleted file, its size and holder"; else bad "deleted: the deleted file, its size and holder ($hpid)" "$(cat "$tmp/out")"; fi
"$whatsup" cpu 3 >"$tmp/out" 2>&1 || true
same "cpu 3: a header and three processes" 4 "$(grep -cE '^ *([0-9]+ |PID)' "$tmp/out")"

# ---------------------------------------------------------------- runbook
# The scenarios' logic against stand-ins (no server needed); the real server is check.sh's.
if bash "$here/../runbook/test-runbook.sh" >"$tmp/out" 2>&1; then ok "runbook: $(tail -1 "$tmp/out")"; else
  bad "runbook: the scenarios' logic" "$(grep -v '^  ok' "$tmp/out")"; fi

# ---------------------------------------------------------------- shellcheck
echo "shellcheck"
mapfile -t scripts < <(find "$here" "$here/../runbook" -maxdepth 1 -name '*.sh' 2>/dev/null | sort)
if shellcheck -x "${scripts[@]}" >"$tmp/out" 2>&1; then ok "shellcheck: ${#scripts[@]} scripts clean"; else bad "shellcheck" "$(cat "$tmp/out")"; fi

echo "test-ops: $passed passed, $failed failed"
[ "$failed" = 0 ]
