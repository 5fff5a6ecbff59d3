#!/usr/bin/env bash
# replica.sh — a streaming hot standby of the local PostgreSQL (shared/scripts/services.sh) on
# loopback, to watch replication work and to measure its lag.
#
# usage: replica.sh up | demo | status | promote | down
#   up      pg_basebackup -R -X stream of the primary into <run dir>/pg-standby/data, then start it
#           on a free port as a hot standby (read-only queries allowed); writes
#           STANDBY_URL=... (and STANDBY_PORT) into <run dir>/standby.env. Idempotent.
#   demo    writes a row on the primary, polls the standby until it appears, prints how long that
#           took and the primary's view of the lag (pg_stat_replication).
#   status  one line about the standby, and the primary's pg_stat_replication.
#   promote pg_ctl promote: the standby stops replaying and becomes a primary of its own that
#           accepts writes (a failover). The old primary keeps running, unaware: from now on the
#           two diverge, and only one of them may be given to the service.
#   down    stops the standby and deletes its data directory and standby.env.
# The run dir is $TASKD_RUN_DIR or <repo>/.run, as for services.sh, so a test can run a primary
# and a standby of its own. As root, the standby runs as the `postgres` OS user (it refuses root).
#
# What streaming replication is: the primary writes every change to its write-ahead log (WAL)
# before applying it; a standby started from a physical copy of the primary's files (the base
# backup) connects back as a replication client, receives that WAL as it is written and replays
# it, so it stays a byte-for-byte copy a few milliseconds behind. A hot standby also answers
# read-only queries (and refuses writes: "cannot execute INSERT in a read-only transaction").
#
# A replica is NOT a backup. It copies every change, the mistakes included: a DROP TABLE or a
# DELETE without WHERE reaches the standby in milliseconds, and then it is gone on both. It
# protects you against losing the primary's machine or disk (promote the standby: little or no
# data lost, minutes of downtime instead of hours) and it spreads read load. Against human error,
# bad migrations and for moving between major versions you need backups (backup.sh: a logical
# dump to a point in time; or base backups plus archived WAL for point-in-time recovery).
#
# No replication slot is used: a slot would make the primary keep WAL for a standby that is gone
# (and fill its disk) if `down` were skipped; on loopback the standby never falls behind enough to
# need one. The password never appears on a command line: pg_basebackup reads it from a 0600
# passfile; `-R` writes the connection settings (password included) into the standby's
# postgresql.auto.conf, inside its 0700 data directory.
set -euo pipefail

# services.sh, sourced for its functions (its command dispatch only runs when it is executed):
# as_pg and own_pg (PostgreSQL refuses to run as root, so as root every server-side command runs as
# `postgres`, from /, without our lock descriptor), random_free_port, and the primary's socket
# directory PG_SOCK and superuser PG_SUPER. It also sets REPO_ROOT and RUN_DIR ($TASKD_RUN_DIR or
# <repo>/.run). Our say/die/usage are defined after it, so they are the ones its functions call.
SERVICES_SH="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/shared/scripts/services.sh"
# shellcheck source=shared/scripts/services.sh source-path=SCRIPTDIR/../../.. disable=SC1091
. "$SERVICES_SH"
SB_DIR="$RUN_DIR/pg-standby"
SB_DATA="$SB_DIR/data"
SB_SOCK="$SB_DIR/sock"
SB_LOG="$SB_DIR/log"
SB_PASSFILE="$SB_DIR/pgpass"
SB_ENV="$RUN_DIR/standby.env"

say() { echo "replica: $*" >&2; }
die() { echo "replica: error: $*" >&2; exit 1; }
usage() { echo "usage: replica.sh up|demo|status|promote|down" >&2; exit 2; }

# One replica.sh at a time per run dir (two `up` would both base-backup into the same place).
sb_lock() {
  mkdir -p "$RUN_DIR"
  exec 9>>"$RUN_DIR/replica.lock"
  flock -w 300 9 || die "timed out waiting for $RUN_DIR/replica.lock"
}

# The primary's settings (PG_URL, PGPORT, PGPASSWORD, PG_BIN...) from services.env; these win over
# whatever the caller's environment holds (it may name another run dir's cluster).
load_primary() {
  [ -f "$RUN_DIR/services.env" ] || die "no $RUN_DIR/services.env: start the primary with \`services.sh up postgres\`"
  set -a
  # shellcheck disable=SC1091
  . "$RUN_DIR/services.env"
  set +a
  [ -n "${PG_URL:-}" ] || die "services.env has no PG_URL (is postgres created?)"
  BIN=${PG_BIN:-}
  [ -n "$BIN" ] && [ -x "$BIN/pg_ctl" ] || BIN=$(TASKD_RUN_DIR=$RUN_DIR bash "$SERVICES_SH" pg-bin)
}

sb_running() { [ -f "$SB_DATA/PG_VERSION" ] && as_pg "$BIN/pg_ctl" -D "$SB_DATA" status >/dev/null 2>&1; }
sb_port() { sed -n 4p "$SB_DATA/postmaster.pid" 2>/dev/null || cat "$SB_DIR/port" 2>/dev/null || true; }

# psql as taskd over TCP: psql_at PORT DB SQL (password from the environment, never argv).
psql_at() {
  PGPASSWORD=$PGPASSWORD PGOPTIONS="-c client_min_messages=warning" "$BIN/psql" -X -q -At -w -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$1" -U taskd -d "$2" -c "$3"
}
primary() { psql_at "$PGPORT" "${PGDATABASE:-taskd}" "$1"; }
# As the superuser over the primary's private socket (trust): pg_stat_replication shows its LSNs
# and lags only to superusers and pg_read_all_stats, not to taskd.
primary_super() {
  as_pg "$BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PGPORT" -U "$PG_SUPER" \
    -d postgres -c "$1"
}
standby() { psql_at "$(sb_port)" "${PGDATABASE:-taskd}" "$1"; }

sb_write_env() {
  local port tmp
  port=$(sb_port)
  tmp=$(mktemp "$RUN_DIR/.standby.env.XXXXXX")
  chmod 600 "$tmp" # it holds the password
  {
    echo "# Written by weeks/02-postgres/scripts/replica.sh up; removed by replica.sh down."
    printf 'STANDBY_URL=%s\n' "postgres://taskd:$PGPASSWORD@127.0.0.1:$port/${PGDATABASE:-taskd}"
    printf 'STANDBY_PORT=%s\n' "$port"
  } >"$tmp"
  mv -f "$tmp" "$SB_ENV"
}

cmd_up() {
  sb_lock
  # The primary: started (or created) by services.sh, which also makes RUN_DIR reachable for
  # the postgres user; wal_level=replica and a `host replication` line are in its config.
  TASKD_RUN_DIR=$RUN_DIR bash "$SERVICES_SH" up postgres
  load_primary
  if sb_running; then
    sb_write_env
    say "standby already running on 127.0.0.1:$(sb_port)"
    return 0
  fi
  if [ ! -f "$SB_DATA/PG_VERSION" ] || [ ! -f "$SB_DATA/standby.signal" ]; then
    rm -rf "$SB_DIR"
    mkdir -p "$SB_DIR" "$SB_SOCK"
    chmod 700 "$SB_DIR" "$SB_SOCK"
    (umask 077 && printf '127.0.0.1:%s:*:taskd:%s\n' "$PGPORT" "$PGPASSWORD" >"$SB_PASSFILE")
    own_pg "$SB_DIR" "$SB_SOCK" "$SB_PASSFILE"
    say "base backup of 127.0.0.1:$PGPORT into $SB_DATA"
    local t0 t1
    t0=$(date +%s%N)
    # -X stream: the WAL written during the copy streams alongside it, so the copy is complete;
    # -R: standby.signal + primary_conninfo, i.e. "start as a standby of that primary".
    as_pg env PGPASSFILE="$SB_PASSFILE" "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PGPORT" -U taskd -w \
      -D "$SB_DATA.tmp" -R -X stream -c fast >"$SB_DIR/basebackup.log" 2>&1 ||
      { cat "$SB_DIR/basebackup.log" >&2; rm -rf "$SB_DATA.tmp"; die "pg_basebackup failed"; }
    as_pg mv "$SB_DATA.tmp" "$SB_DATA"
    t1=$(date +%s%N)
    say "base backup done in $(((t1 - t0) / 1000000)) ms ($(du -sh "$SB_DATA" | cut -f1))"
    # The copied postgresql.conf is the primary's: its own socket directory, and hot standby.
    as_pg tee -a "$SB_DATA/postgresql.conf" >/dev/null <<EOF

# ---- added by weeks/02-postgres/scripts/replica.sh (this is the standby) ----
unix_socket_directories = '$SB_SOCK'
hot_standby = on
hot_standby_feedback = on
EOF
  fi
  local port attempt
  for attempt in 1 2 3; do
    port=$(random_free_port)
    echo "$port" >"$SB_DIR/port"
    if as_pg "$BIN/pg_ctl" -D "$SB_DATA" -l "$SB_LOG" -w -t 60 -o "-p $port" start >/dev/null 2>&1; then
      break
    fi
    sb_running && break
    [ "$attempt" = 3 ] && { tail -n 20 "$SB_LOG" >&2 || true; die "the standby did not start (log: $SB_LOG)"; }
  done
  sb_write_env
  say "standby up on 127.0.0.1:$(sb_port), streaming from 127.0.0.1:$PGPORT (env: $SB_ENV)"
}

cmd_down() {
  sb_lock
  if [ -f "$SB_DATA/PG_VERSION" ]; then
    # The binaries of the version that made the data dir (the primary may be gone already).
    BIN=/usr/lib/postgresql/$(cat "$SB_DATA/PG_VERSION")/bin
    [ -x "$BIN/pg_ctl" ] || BIN=$(TASKD_RUN_DIR=$RUN_DIR bash "$SERVICES_SH" pg-bin)
    if sb_running; then
      as_pg "$BIN/pg_ctl" -D "$SB_DATA" -m fast -w -t 60 stop >/dev/null
      say "standby stopped"
    fi
  fi
  rm -rf "$SB_DIR" "$SB_ENV"
  say "standby removed"
}

need_standby() {
  load_primary
  sb_running || die "the standby is not running; run \`replica.sh up\` first"
}

show_replication() {
  say "primary's pg_stat_replication:"
  primary_super "SELECT format('  %s %s: sent %s, replayed %s; write_lag %s, flush_lag %s, replay_lag %s; %s bytes not yet replayed',
                         application_name, state, sent_lsn, replay_lsn,
                         coalesce(write_lag::text, 'null (idle)'), coalesce(flush_lag::text, 'null (idle)'),
                         coalesce(replay_lag::text, 'null (idle)'),
                         pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn))
           FROM pg_stat_replication" >&2
}

cmd_demo() {
  need_standby
  local note id t0 t1 polls=0 seen=
  note="demo $(date -u +%H:%M:%S.%N) $$"
  primary "CREATE TABLE IF NOT EXISTS replica_demo (id serial, note text, at timestamptz DEFAULT now())"
  t0=$(date +%s%N)
  id=$(primary "INSERT INTO replica_demo (note) VALUES ('$note') RETURNING id")
  t1=$(date +%s%N)
  say "primary: inserted replica_demo row $id ('$note') in $(((t1 - t0) / 1000000)) ms (committed)"
  t0=$t1
  while [ $(($(date +%s%N) - t0)) -lt 10000000000 ]; do
    polls=$((polls + 1))
    seen=$(standby "SELECT id FROM replica_demo WHERE note = '$note'" 2>/dev/null || true)
    [ -n "$seen" ] && break
    sleep 0.005
  done
  t1=$(date +%s%N)
  [ -n "$seen" ] || die "the row did not reach the standby within 10 s (log: $SB_LOG)"
  say "standby: row $seen visible $(((t1 - t0) / 1000)) us after the commit returned ($polls poll(s); each poll is a new psql connection, ~ms)"
  show_replication
  say "a replica is not a backup: DROP TABLE replica_demo would reach it just as fast"
}

cmd_promote() {
  sb_lock
  need_standby
  [ "$(standby "SELECT pg_is_in_recovery()")" = t ] || die "the standby is already promoted"
  as_pg "$BIN/pg_ctl" -D "$SB_DATA" -w -t 60 promote >/dev/null
  [ "$(standby "SELECT pg_is_in_recovery()")" = f ] || die "the standby is still in recovery (log: $SB_LOG)"
  say "standby promoted: 127.0.0.1:$(sb_port) now accepts writes (timeline $(standby "SELECT timeline_id FROM pg_control_checkpoint()" 2>/dev/null || echo '?'))"
  say "the old primary still runs and accepts writes too: point the service at one of them only"
}

cmd_status() {
  load_primary
  if sb_running; then
    local info
    info=$(standby "SELECT format('in recovery %s, replayed up to %s, last replayed commit at %s',
                                  pg_is_in_recovery(), pg_last_wal_replay_lsn(),
                                  coalesce(pg_last_xact_replay_timestamp()::text, 'none yet'))" 2>&1 || true)
    echo "standby: running on 127.0.0.1:$(sb_port) (data $SB_DATA): $info"
    show_replication
  elif [ -f "$SB_DATA/PG_VERSION" ]; then
    echo "standby: stopped (data $SB_DATA)"
  else
    echo "standby: not created"
  fi
}

[ $# -eq 1 ] || usage
case "$1" in
  up) cmd_up ;;
  down) cmd_down ;;
  demo) cmd_demo ;;
  status) cmd_status ;;
  promote) cmd_promote ;;
  *) usage ;;
esac
