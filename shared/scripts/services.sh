#!/usr/bin/env bash
# services.sh — starts and stops the lab's local backing services as plain processes.
#
# The lab needs real servers from week 2 on (PostgreSQL now; redis, memcached, an SMTP sink, a
# Kafka dev broker, nginx and prometheus in later weeks). They run from the Debian packages as
# ordinary child processes with all their state under one run directory (.run/ by default,
# git-ignored), so there is no Docker, no systemd and nothing outside the repository to clean up.
#
# usage: services.sh COMMAND [ARGS]       (services.sh with no args prints the full list)
#   up [SERVICE...]        start (creating on first use); idempotent; writes RUN_DIR/services.env
#   down [SERVICE...]      stop, keep the data          destroy [SERVICE...]  stop + delete the data
#   start|stop SERVICE...  the same as up/down for named services (tests take a database away)
#   kill SERVICE...        crash it (no clean shutdown), to test recovery
#   status                 one line per service on stdout
#   fresh-db               print the URL of a brand-new empty database (one per test server)
#   drop-db NAME           drop one test_* database           psql [ARGS]  psql as taskd
#   prune-test-dbs         drop every test_* database
#   url                    print PG_URL                       pg-bin       print PostgreSQL's bin dir
#
# Environment: TASKD_RUN_DIR (default <repo>/.run) moves every file, so a test can run a cluster
# of its own beside the developer's. Only fresh-db, url, pg-bin and status write stdout (other
# scripts capture it); everything informational goes to stderr.
#
# Adding a service: append its name to SERVICES, map it to a function prefix in SVC_PREFIX and
# write <prefix>_up/_down/_kill/_status/_env/_destroy/_created below, like the pg_* ones.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Absolute, because the postgres processes run with another working directory.
RUN_DIR=$(realpath -m "${TASKD_RUN_DIR:-$REPO_ROOT/.run}")
ENV_FILE="$RUN_DIR/services.env"
LOCK_FILE="$RUN_DIR/services.lock"

SERVICES=(postgres)
declare -A SVC_PREFIX=([postgres]=pg)

QUIET=0 # 1: up prints nothing (fresh-db starts postgres behind the caller's back)

usage() {
  cat >&2 <<EOF
usage: services.sh up|down|destroy [SERVICE...]
       services.sh start|stop|kill SERVICE...
       services.sh status|fresh-db|drop-db NAME|prune-test-dbs|url|pg-bin
       services.sh psql [PSQL_ARGS...]
services: ${SERVICES[*]}
EOF
  exit 2
}
say() { [ "$QUIET" = 1 ] || echo "services: $*" >&2; }
die() { echo "services: error: $*" >&2; exit 1; }

# A path as a person would type it from the repository root.
pretty() { case "$1" in "$REPO_ROOT"/*) echo "${1#"$REPO_ROOT"/}" ;; *) echo "$1" ;; esac; }

# One lock around everything that changes a service's state, so two `up` at once (two suites, or
# `make -j`) do not both initdb or both pick a port. Taken once per process; fd 9 must not leak
# into the servers we start (a postmaster holding it would keep the lock forever), hence the
# `9>&-` wherever a daemon is launched.
LOCKED=0
lock() {
  [ "$LOCKED" = 1 ] && return 0
  mkdir -p "$RUN_DIR"
  exec 9>>"$LOCK_FILE"
  flock -w 300 9 || die "timed out waiting for $LOCK_FILE"
  LOCKED=1
}

# Is anything accepting connections on 127.0.0.1:$1? (bash's /dev/tcp: refused means free.)
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
random_free_port() {
  local p _
  for _ in $(seq 1 200); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 20001))
    port_in_use "$p" || { echo "$p"; return 0; }
  done
  die "no free loopback port found in 20000-40000"
}

# Environment lines of every service that exists, rewritten as a whole (atomically, via rename)
# so a reader sourcing it concurrently never sees half a file, and a service that is not up yet
# keeps the others' lines.
write_env() {
  local tmp svc any=0
  mkdir -p "$RUN_DIR"
  tmp=$(mktemp "$RUN_DIR/.services.env.XXXXXX")
  {
    echo "# Written by shared/scripts/services.sh up; do not edit (it is rewritten)."
    echo "# Load it with: set -a; . $(pretty "$ENV_FILE"); set +a"
  } >"$tmp"
  for svc in "${SERVICES[@]}"; do
    if "${SVC_PREFIX[$svc]}_created"; then "${SVC_PREFIX[$svc]}_env" >>"$tmp"; any=1; fi
  done
  chmod 600 "$tmp" # it holds passwords
  if [ "$any" = 1 ]; then mv -f "$tmp" "$ENV_FILE"; else rm -f "$tmp" "$ENV_FILE"; fi
}
# NAME=value, quoted only if the value needs it (ours never do, so the file also reads as a plain
# KEY=VALUE list for tools that are not bash).
env_line() { printf '%s=%q\n' "$1" "$2"; }

# ---------------------------------------------------------------- PostgreSQL ---------------------
PG_DIR="$RUN_DIR/pg"
PG_DATA="$PG_DIR/data"
PG_SOCK="$PG_DIR/sock"
PG_LOG="$PG_DIR/log"
PG_PORT_FILE="$PG_DIR/port"
PG_PW_FILE="$PG_DIR/password"
PG_BOOTSTRAPPED="$PG_DIR/.bootstrapped" # role and database created (initdb alone is not enough)

# PostgreSQL refuses to run as root, so as root every server-side command runs as the `postgres`
# OS user (the Debian package's, or one we create); as anyone else it runs as that user.
if [ "$(id -u)" = 0 ]; then PG_OS_USER=postgres; else PG_OS_USER=$(id -un); fi
PG_SUPER=$PG_OS_USER # initdb -U: the superuser is the OS user, so socket `trust` just works

# Hand a file we wrote to the server's OS user (only needed as root).
own_pg() { if [ "$(id -u)" = 0 ]; then chown postgres: "$@"; fi; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then
    # cd /: our working directory may be unreadable to postgres (it would warn on every call).
    (cd / && runuser -u postgres -- "$@" 9>&-)
  else
    "$@" 9>&-
  fi
}

# The bin directory: the version that created the data dir if there is one (a newer major cannot
# open it), else $PG_BIN if it is a server bin dir, else the highest installed version.
PG_BIN_DIR=
pg_find_bin() {
  [ -n "$PG_BIN_DIR" ] && return 0
  local v cand=
  if [ -f "$PG_DATA/PG_VERSION" ]; then
    v=$(cat "$PG_DATA/PG_VERSION")
    [ -x "/usr/lib/postgresql/$v/bin/initdb" ] && cand="/usr/lib/postgresql/$v/bin"
  fi
  if [ -z "$cand" ] && [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ]; then
    cand=$PG_BIN
  fi
  if [ -z "$cand" ]; then
    cand=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | while read -r d; do
      [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] && echo "$d"
    done | tail -n 1)
  fi
  [ -n "$cand" ] || die "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb); run \`make deps\` first"
  PG_BIN_DIR=$cand
}

pg_created() { [ -f "$PG_DATA/PG_VERSION" ] && [ -f "$PG_PW_FILE" ]; }
pg_running() { [ -f "$PG_DATA/PG_VERSION" ] && pg_find_bin && as_pg "$PG_BIN_DIR/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }
# The port the running server listens on (line 4 of postmaster.pid), else the last one used.
pg_port() {
  local p=
  [ -f "$PG_DATA/postmaster.pid" ] && p=$(sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null || true)
  [ -n "$p" ] || p=$(cat "$PG_PORT_FILE" 2>/dev/null || true)
  echo "$p"
}
pg_password() { cat "$PG_PW_FILE"; }
# SQL as the superuser over the private Unix socket (trust; no password involved).
pg_sql() {
  as_pg "$PG_BIN_DIR/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$(pg_port)" -U "$PG_SUPER" -d postgres "$@"
}

# As root: the postgres user must exist and be able to reach RUN_DIR. A `mktemp -d` RUN_DIR is
# 0700, so it (and only those root-owned parents that block the way) get o+x — search, not read.
pg_root_prepare() {
  [ "$(id -u)" = 0 ] || return 0
  if ! id -u postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  fi
  chmod o+x "$RUN_DIR"
  if ! runuser -u postgres -- test -x "$RUN_DIR"; then
    local d=$RUN_DIR
    while [ "$d" != / ]; do
      d=$(dirname "$d")
      if [ "$(stat -c %u "$d")" = 0 ] && [[ "$(stat -c %A "$d")" != *x ]] && [[ "$(stat -c %A "$d")" != *t ]]; then
        chmod o+x "$d"
      fi
    done
    runuser -u postgres -- test -x "$RUN_DIR" || die "the postgres user cannot reach $RUN_DIR (check the permissions of its parents)"
  fi
}

pg_init() {
  local stage="$PG_DIR/data.init"
  say "postgres: creating a new cluster in $(pretty "$PG_DATA")"
  mkdir -p "$PG_DIR" "$PG_SOCK"
  chmod 700 "$PG_SOCK" # private: which is why `local all all trust` is safe
  if [ "$(id -u)" = 0 ]; then chown -R postgres: "$PG_DIR"; fi
  if [ ! -f "$PG_PW_FILE" ]; then
    (umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$PG_PW_FILE")
    chmod 600 "$PG_PW_FILE"
    own_pg "$PG_PW_FILE"
  fi
  # initdb into a side directory and rename it when configured: a half-made cluster (Ctrl-C,
  # full disk) is then never mistaken for a real one.
  rm -rf "$stage"
  as_pg "$PG_BIN_DIR/initdb" -D "$stage" --auth-local=trust --auth-host=scram-sha-256 \
    -U "$PG_SUPER" --encoding=UTF8 --locale=C >"$PG_DIR/initdb.log" 2>&1 ||
    { cat "$PG_DIR/initdb.log" >&2; die "initdb failed (log above)"; }
  # No `port` here: it is given at start, so a taken port can be replaced without editing this.
  # wal_level/max_wal_senders: later weeks take base backups and run a replica from this cluster.
  as_pg tee -a "$stage/postgresql.conf" >/dev/null <<EOF

# ---- added by shared/scripts/services.sh ----
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_SOCK'
max_connections = 200
wal_level = replica
max_wal_senders = 10
logging_collector = off
# A throwaway cluster that creates hundreds of test databases: keep its WAL small.
max_wal_size = 128MB
min_wal_size = 32MB
EOF
  as_pg tee "$stage/pg_hba.conf" >/dev/null <<'EOF'
# Written by shared/scripts/services.sh. The socket directory is 0700, so only the server's OS
# user can use `trust`; everything over TCP needs a password (scram-sha-256).
local   all          all                      trust
host    all          all          127.0.0.1/32  scram-sha-256
host    replication  all          127.0.0.1/32  scram-sha-256
EOF
  as_pg mv "$stage" "$PG_DATA"
}

# Role and database, once, with the server up. Idempotent SQL, so a run interrupted between
# CREATE ROLE and CREATE DATABASE finishes the job next time. Fed on stdin: the password never
# appears on a command line (ps).
pg_bootstrap() {
  [ -f "$PG_BOOTSTRAPPED" ] && return 0
  local pw
  pw=$(pg_password)
  pg_sql <<EOF
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'taskd') THEN
    CREATE ROLE taskd LOGIN REPLICATION CREATEDB PASSWORD '$pw';
  ELSE
    ALTER ROLE taskd LOGIN REPLICATION CREATEDB PASSWORD '$pw';
  END IF;
END \$\$;
SELECT 'CREATE DATABASE taskd OWNER taskd' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'taskd')
\gexec
EOF
  touch "$PG_BOOTSTRAPPED"
}

pg_up() {
  pg_find_bin
  pg_root_prepare
  pg_created || { [ -f "$PG_DATA/PG_VERSION" ] || pg_init; }
  [ -f "$PG_PW_FILE" ] || die "$PG_PW_FILE is missing but the cluster exists; run \`services.sh destroy\` to start over"
  local state="up" port attempt
  if pg_running; then
    state="up (already running)"
  else
    # Same port as last time when it is still free (tests stop and restart the server and expect
    # their URLs to keep working); otherwise a new random one. Retried because another process
    # can take the port between our check and the server's bind.
    for attempt in 1 2 3; do
      port=$(cat "$PG_PORT_FILE" 2>/dev/null || true)
      if [ -z "$port" ] || port_in_use "$port"; then port=$(random_free_port); fi
      echo "$port" >"$PG_PORT_FILE"
      own_pg "$PG_PORT_FILE"
      if as_pg "$PG_BIN_DIR/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 -o "-p $port" start >/dev/null 2>&1; then
        break
      fi
      pg_running && break
      rm -f "$PG_PORT_FILE"
      [ "$attempt" = 3 ] && { tail -n 20 "$PG_LOG" >&2 || true; die "postgres did not start (log: $(pretty "$PG_LOG"))"; }
    done
  fi
  pg_bootstrap
  say "postgres $state on 127.0.0.1:$(pg_port) (data $(pretty "$PG_DATA"))"
}

pg_down() {
  pg_running || return 0
  as_pg "$PG_BIN_DIR/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null
  say "postgres stopped (data kept in $(pretty "$PG_DATA"))"
}

pg_kill() {
  pg_running || return 0
  as_pg "$PG_BIN_DIR/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null
  say "postgres killed (immediate stop: it runs crash recovery on next start)"
}

pg_destroy() {
  pg_down
  rm -rf "$PG_DIR"
  say "postgres destroyed ($(pretty "$PG_DIR") removed)"
}

pg_status() {
  if pg_running; then
    echo "postgres: running postgres://taskd@127.0.0.1:$(pg_port)/taskd (data $(pretty "$PG_DATA"))"
  elif [ -f "$PG_DATA/PG_VERSION" ]; then
    echo "postgres: stopped (data $(pretty "$PG_DATA"))"
  else
    echo "postgres: not created"
  fi
}

pg_env() {
  local pw port
  pw=$(pg_password)
  port=$(pg_port)
  pg_find_bin
  env_line PG_URL "postgres://taskd:$pw@127.0.0.1:$port/taskd"
  env_line PGHOST 127.0.0.1
  env_line PGPORT "$port"
  env_line PGUSER taskd
  env_line PGPASSWORD "$pw"
  env_line PGDATABASE taskd
  env_line PG_BIN "$PG_BIN_DIR"
}

pg_url() {
  pg_created || die "postgres is not created; run \`services.sh up\`"
  echo "postgres://taskd:$(pg_password)@127.0.0.1:$(pg_port)/${1:-taskd}"
}

# A new empty database per test server, so suites never see each other's rows. Parallel callers
# only contend inside PostgreSQL (CREATE DATABASE is safe concurrently); the random suffix keeps
# names apart, and a collision just retries.
pg_fresh_db() {
  pg_find_bin
  if ! pg_running; then
    lock
    QUIET=1 pg_up
    write_env
  fi
  local name attempt
  for attempt in 1 2 3 4 5; do
    name="test_$(date +%s)_$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
    if pg_sql -c "CREATE DATABASE \"$name\" OWNER taskd" 2>/dev/null; then
      pg_url "$name"
      return 0
    fi
  done
  pg_sql -c "CREATE DATABASE \"$name\" OWNER taskd" >/dev/null # once more, to show the error
  pg_url "$name"
}

# One test database, by name (the test kit drops each server's database when it stops).
pg_drop_db() {
  case "$1" in test_[0-9a-z_]*) ;; *) die "drop-db only drops test_* databases, not '$1'" ;; esac
  case "$1" in *[!0-9a-z_]*) die "not a test database name: '$1'" ;; esac
  pg_running || return 0
  pg_sql -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" >/dev/null
}

pg_prune_test_dbs() {
  pg_running || return 0
  local db
  pg_sql -c "SELECT datname FROM pg_database WHERE datname LIKE 'test\\_%'" | while read -r db; do
    if [ -n "$db" ]; then pg_sql -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null; fi
  done
}

pg_psql() {
  pg_running || die "postgres is not running; run \`services.sh up\`"
  local port pw
  port=$(pg_port)
  pw=$(pg_password)
  PGPASSWORD=$pw exec "$PG_BIN_DIR/psql" -h 127.0.0.1 -p "$port" -U taskd -d taskd "$@"
}

# ---------------------------------------------------------------- dispatch -----------------------
# Check names before doing anything, so a typo does not half-run a command.
check_services() {
  local s
  for s in "$@"; do [ -n "${SVC_PREFIX[$s]:-}" ] || { echo "services: unknown service '$s'" >&2; usage; }; done
}
each() { # each ACTION SERVICE...
  local action=$1 s
  shift
  for s in "$@"; do "${SVC_PREFIX[$s]}_$action"; done
}

# Sourced (replica.sh takes as_pg, own_pg and random_free_port from here): functions only, no
# command is run.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  [ $# -ge 1 ] || usage
  cmd=$1
  shift
  case "$cmd" in
    up | start)
      [ "$cmd" = up ] || [ $# -ge 1 ] || usage
      [ $# -ge 1 ] || set -- "${SERVICES[@]}"
      check_services "$@"
      lock
      each up "$@"
      write_env
      ;;
    down | stop | kill | destroy)
      [ "$cmd" = down ] || [ "$cmd" = destroy ] || [ $# -ge 1 ] || usage
      [ $# -ge 1 ] || set -- "${SERVICES[@]}"
      check_services "$@"
      [ -d "$RUN_DIR" ] || exit 0 # never created: nothing to stop
      lock
      case "$cmd" in
        kill) each kill "$@" ;;
        destroy) each destroy "$@"; write_env ;;
        *) each down "$@" ;;
      esac
      ;;
    status)
      [ $# -eq 0 ] || usage
      for s in "${SERVICES[@]}"; do "${SVC_PREFIX[$s]}_status"; done
      ;;
    fresh-db) [ $# -eq 0 ] || usage; pg_fresh_db ;;
    drop-db) [ $# -eq 1 ] || usage; pg_drop_db "$1" ;;
    prune-test-dbs) [ $# -eq 0 ] || usage; pg_prune_test_dbs ;;
    psql) pg_find_bin; pg_psql "$@" ;;
    url) [ $# -eq 0 ] || usage; pg_url ;;
    pg-bin) [ $# -eq 0 ] || usage; pg_find_bin; echo "$PG_BIN_DIR" ;;
    *) usage ;;
  esac
fi
