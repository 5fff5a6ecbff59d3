#!/usr/bin/env bash
# services.sh — starts and stops the lab's local backing services as plain processes.
#
# The lab needs real servers from week 2 on (PostgreSQL; then Redis, memcached and an SMTP sink in
# week 3; a Kafka dev broker, nginx and prometheus in later weeks). They run from the Debian packages as
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
#   prune-test-dbs         drop every test_* database; stop and remove the private servers of
#                          test processes that were killed (/tmp/taskd-*/owner)
#   url                    print PG_URL                       pg-bin       print PostgreSQL's bin dir
#   smtp-clear             delete every message the SMTP sink has stored (tests, learners)
#   kafka-pause            take every Kafka dev broker down (refuses connections, keeps the data)
#   kafka-resume           bring them back up on the same ports
#
# Services: postgres (week 2); redis (the cache and the job queue), memcached (the other cache) and
# smtp (shared/tools/smtp_sink.c: stores each message it accepts as a file, relays nothing) from
# week 3; kafka (shared/tools/kafka_dev_broker.c: librdkafka's mock cluster, a Kafka-protocol
# broker in one process that keeps everything in memory) and rabbitmq (the RabbitMQ event bus:
# Debian's rabbitmq-server, an Erlang node with a name and ports of this run directory's own) from
# week 7; registry (Debian's docker-registry, the OCI registry `make publish` pushes release images
# to) from week 8. services.env gets PG_URL..., REDIS_URL, MEMCACHED_URL, SMTP_URL, SMTP_SINK_DIR,
# KAFKA_BROKERS, AMQP_URL and REGISTRY.
#
# Environment: TASKD_RUN_DIR (default <repo>/.run) moves every file, so a test can run servers
# of its own beside the developer's; BUILD (default build) is where the SMTP sink and the Kafka
# dev broker are built. Only
# fresh-db, url, pg-bin and status write stdout (other scripts capture it); everything
# informational goes to stderr.
#
# Adding a service: append its name to SERVICES, map it to a function prefix in SVC_PREFIX and
# write <prefix>_up/_down/_kill/_status/_env/_destroy/_created below, like the pg_* ones.
set -euo pipefail

# A service started from a make recipe (`make -j2 lab-check-3` starts redis when it is not up)
# would inherit make's jobserver pipe (MAKEFLAGS: --jobserver-auth=R,W) and hold it for its whole
# life. At its exit, GNU make closes its own end and reads the pipe until every writer has
# closed it: with a daemon holding one, that make never exits (a `make ci` hung so after
# lab-check-2, every check passed). Nothing started here needs make's descriptors: close them.
if [[ ${MAKEFLAGS:-} =~ --jobserver-(auth|fds)=([0-9]+),([0-9]+) ]]; then
  for jobserver_fd in "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}"; do
    if [ -e "/proc/$$/fd/$jobserver_fd" ]; then eval "exec $jobserver_fd>&-"; fi
  done
fi

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Absolute, because the postgres processes run with another working directory.
RUN_DIR=$(realpath -m "${TASKD_RUN_DIR:-$REPO_ROOT/.run}")
ENV_FILE="$RUN_DIR/services.env"
LOCK_FILE="$RUN_DIR/services.lock"

SERVICES=(postgres redis memcached smtp kafka rabbitmq registry)
declare -A SVC_PREFIX=([postgres]=pg [redis]=redis [memcached]=mc [smtp]=smtp [kafka]=kf [rabbitmq]=rmq [registry]=reg)

QUIET=0 # 1: up prints nothing (fresh-db starts postgres behind the caller's back)

usage() {
  cat >&2 <<EOF
usage: services.sh up|down|destroy [SERVICE...]
       services.sh start|stop|kill SERVICE...
       services.sh status|fresh-db|drop-db NAME|prune-test-dbs|url|pg-bin|smtp-clear
       services.sh kafka-pause|kafka-resume
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

# port_in_use and free_port: shared/scripts/ports.sh (free ports come from below the ephemeral
# range). random_free_port is the name replica.sh knows, and it dies where free_port fails.
# shellcheck source=shared/scripts/ports.sh source-path=SCRIPTDIR/../..
. "$REPO_ROOT/shared/scripts/ports.sh"
random_free_port() { free_port || die "no free loopback port"; }

# Environment lines of every service that exists, rewritten as a whole (atomically, via rename)
# so a reader sourcing it concurrently never sees half a file, and a service that is not up yet
# keeps the others' lines.
# A random signing key for local runs and tests of stage 4 (JWT_SECRET_FILE=.run/jwt-secret),
# made once: a throwaway secret of this checkout, never one to deploy with.
dev_jwt_secret() {
  local f="$RUN_DIR/jwt-secret"
  [ -s "$f" ] && return 0
  (umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$f.tmp" && mv -f "$f.tmp" "$f")
}

write_env() {
  local tmp svc any=0
  mkdir -p "$RUN_DIR"
  dev_jwt_secret
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

# As root, every server runs as an unprivileged OS user, which must be able to reach RUN_DIR. A
# `mktemp -d` RUN_DIR is 0700, so it (and only those root-owned parents that block the way) get
# o+x — search, not read.
reach_run_dir() { # reach_run_dir USER
  [ "$(id -u)" = 0 ] || return 0
  chmod o+x "$RUN_DIR"
  if ! runuser -u "$1" -- test -x "$RUN_DIR"; then
    local d=$RUN_DIR
    while [ "$d" != / ]; do
      d=$(dirname "$d")
      if [ "$(stat -c %u "$d")" = 0 ] && [[ "$(stat -c %A "$d")" != *x ]] && [[ "$(stat -c %A "$d")" != *t ]]; then
        chmod o+x "$d"
      fi
    done
    runuser -u "$1" -- test -x "$RUN_DIR" || die "the $1 user cannot reach $RUN_DIR (check the permissions of its parents)"
  fi
}
# run_as USER CMD...: as root through runuser (from /, which USER can read), else as ourselves;
# never with the lock descriptor.
run_as() {
  local user=$1
  shift
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u "$user" -- "$@" 9>&-); else "$@" 9>&-; fi
}

# The servers of week 3 keep a pidfile. "Running" means its pid is alive and still the program we
# started: after a crash or a reboot the pid may be another program's, and a child of ours that
# died is a zombie until we exit (still in /proc, state Z).
proc_is() { # proc_is PID COMM
  local stat
  [[ "$1" =~ ^[0-9]+$ ]] || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  [[ "$stat" == "$1 ($2) "[!Z]* ]] # "PID (COMM) STATE ..."
}
pidfile_is() { proc_is "$(cat "$1" 2>/dev/null || true)" "$2"; } # pidfile_is PIDFILE COMM
# stop_pid PIDFILE COMM SIGNAL: send SIGNAL (TERM: a clean stop, KILL: a crash) and wait until the
# process is gone, so that a `start` right after never finds the port still taken.
stop_pid() {
  local pid _
  if pidfile_is "$1" "$2"; then
    pid=$(cat "$1")
    kill "-$3" "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do
      proc_is "$pid" "$2" || break
      sleep 0.1
    done
    ! proc_is "$pid" "$2" || die "$2 (pid $pid) is still running 30 s after SIG$3"
  fi
  rm -f "$1"
}
# The port to start on: the last one (in PORT_FILE) while it is free, as for postgres, so URLs
# that tests hold keep working across a restart; otherwise a random free one.
pick_port() { # pick_port PORT_FILE
  local p
  p=$(cat "$1" 2>/dev/null || true)
  if [[ ! "$p" =~ ^[0-9]+$ ]] || port_in_use "$p"; then p=$(random_free_port); fi
  echo "$p"
}

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

# As root: the postgres user must exist and be able to reach RUN_DIR.
pg_root_prepare() {
  [ "$(id -u)" = 0 ] || return 0
  if ! id -u postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  fi
  reach_run_dir postgres
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
    name="test_$(test_run_tag)$(date +%s)_$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
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

# TASKD_TEST_RUN (set by run-suites.sh, [a-z0-9]+) tags the databases of one run, so that run
# drops its own databases and never those of a run going on beside it.
test_run_tag() {
  case "${TASKD_TEST_RUN:-}" in
    "") ;;
    *[!a-z0-9]*) die "TASKD_TEST_RUN must be lower-case letters and digits" ;;
    *) printf '%s_' "$TASKD_TEST_RUN" ;;
  esac
}

pg_prune_test_dbs() {
  pg_running || return 0
  local db pattern tag
  tag=$(test_run_tag)
  # LIKE: "\_" is a literal underscore; the tag itself is only letters and digits.
  pattern="test\\_${tag:+${tag%_}\\_}%"
  pg_sql -c "SELECT datname FROM pg_database WHERE datname LIKE '$pattern'" | while read -r db; do
    if [ -n "$db" ]; then pg_sql -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null; fi
  done
}

# Private servers left behind by a test process that was killed: Criterion ends a test that
# overruns its time limit with SIGKILL, so neither its .fini nor its atexit handler runs. The kit
# writes "PID START" (the test process and its start time, field 22 of /proc/PID/stat) to
# /tmp/taskd-*/owner when it makes such a directory (tk_run_dir_claim); once that process is gone
# (or the PID belongs to a newer process), everything still running there is stopped and the
# directory removed. A directory whose owner is alive, or that has no owner file, is left alone,
# so a run beside this one (another checkout's included) keeps its servers.
reap_orphan_runs() {
  local owner dir pid start now pidfile data pair
  for owner in /tmp/taskd-*/owner; do
    [ -f "$owner" ] || continue
    dir=${owner%/owner}
    read -r pid start <"$owner" || continue
    case "$pid$start" in '' | *[!0-9]*) continue ;; esac
    if [ -r "/proc/$pid/stat" ]; then
      now=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f20)
      [ "$now" != "$start" ] || continue
    fi
    TASKD_RUN_DIR=$dir bash "$REPO_ROOT/shared/scripts/services.sh" destroy >/dev/null 2>&1 || true
    # Servers services.sh does not know (a replica's standby): every postmaster.pid left.
    while IFS= read -r pidfile; do
      data=${pidfile%/postmaster.pid}
      PG_DATA=$data pg_find_bin 2>/dev/null || continue
      as_pg "$PG_BIN_DIR/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    done < <(find "$dir" -name postmaster.pid 2>/dev/null)
    # Week 9's processes, each with a pid file in its run directory: a front's nginx (front.sh,
    # whose master takes its workers with it), Prometheus and Alertmanager (monitor.sh), pebble
    # and its DNS (acme.sh), nginx's exporter (monitor.sh). PIDFILE:COMM, the command's name as the kernel cuts it (15 chars).
    for pair in nginx.pid:nginx prometheus.pid:prometheus alertmanager.pid:prometheus-aler \
      nginx-exporter.pid:prometheus-ngin pebble.pid:pebble challtestsrv.pid:pebble-challtes; do
      while IFS= read -r pidfile; do
        stop_pid "$pidfile" "${pair#*:}" TERM || true
      done < <(find "$dir" -name "${pair%%:*}" 2>/dev/null)
    done
    rm -rf -- "$dir"
    say "reaped $dir (its test process $pid is gone)"
  done
}

pg_psql() {
  pg_running || die "postgres is not running; run \`services.sh up\`"
  local port pw
  port=$(pg_port)
  pw=$(pg_password)
  PGPASSWORD=$pw exec "$PG_BIN_DIR/psql" -h 127.0.0.1 -p "$port" -U taskd -d taskd "$@"
}

# ---------------------------------------------------------------- Redis --------------------------
# The cache and the job queue. The queue must keep its jobs and its id counter across a restart or
# a crash, so every write goes to the append-only file (fsynced each second; a killed process loses
# nothing, the kernel has the data) and there are no RDB snapshots besides (save "").
REDIS_DIR="$RUN_DIR/redis"
REDIS_CONF="$REDIS_DIR/redis.conf"
REDIS_PID_FILE="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"
REDIS_PORT_FILE="$REDIS_DIR/port"

# Never root, even when we are: the Debian package's `redis` user, else nobody.
redis_user() {
  if [ "$(id -u)" != 0 ]; then
    id -un
  elif id -u redis >/dev/null 2>&1; then
    echo redis
  else
    echo nobody
  fi
}
redis_created() { [ -f "$REDIS_PORT_FILE" ]; }
redis_running() { pidfile_is "$REDIS_PID_FILE" redis-server; }
redis_port() { cat "$REDIS_PORT_FILE" 2>/dev/null || true; }

# Rewritten at every start (only the port changes), so it always describes the running server.
redis_write_conf() { # redis_write_conf PORT
  cat >"$REDIS_CONF.tmp" <<EOF
# Written by shared/scripts/services.sh at every start: edits here are lost.
bind 127.0.0.1
port $1
protected-mode yes
daemonize yes
pidfile "$REDIS_PID_FILE"
logfile "$REDIS_LOG"
dir "$REDIS_DIR"
appendonly yes
appendfsync everysec
save ""
EOF
  mv -f "$REDIS_CONF.tmp" "$REDIS_CONF"
}

# Up to 60 s for +PONG (with a large append-only file it answers -LOADING for a while). Gives up at
# once when the server logs that it is aborting (say, the port was taken after our check).
redis_wait() { # redis_wait PORT LOG_LINES_BEFORE_START
  local reply _
  for _ in $(seq 1 600); do
    reply=$( (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'PING\r\n' >&3 && read -r -t 2 r <&3 && echo "$r") 2>/dev/null || true)
    if [[ "$reply" == +PONG* ]] && redis_running; then return 0; fi
    if tail -n "+$(($2 + 1))" "$REDIS_LOG" 2>/dev/null | grep -q 'aborting'; then return 1; fi
    sleep 0.1
  done
  return 1
}

redis_up() {
  command -v redis-server >/dev/null 2>&1 || die "redis-server not found; run \`make deps\` first"
  case "$REDIS_DIR" in *[\"\\]*) die "redis.conf cannot name a path with quotes or backslashes: $REDIS_DIR" ;; esac
  local user state="up" port attempt before
  user=$(redis_user)
  if redis_running; then
    state="up (already running)"
  else
    reach_run_dir "$user"
    mkdir -p "$REDIS_DIR"
    for attempt in 1 2 3; do
      port=$(pick_port "$REDIS_PORT_FILE")
      echo "$port" >"$REDIS_PORT_FILE"
      redis_write_conf "$port"
      if [ "$(id -u)" = 0 ]; then chown -R "$user": "$REDIS_DIR"; fi
      rm -f "$REDIS_PID_FILE"
      before=0
      if [ -f "$REDIS_LOG" ]; then before=$(wc -l <"$REDIS_LOG"); fi
      # daemonize yes: it forks, and the command returns once the configuration is read.
      if run_as "$user" redis-server "$REDIS_CONF" >/dev/null 2>&1 && redis_wait "$port" "$before"; then
        break
      fi
      stop_pid "$REDIS_PID_FILE" redis-server KILL # started but not answering in time
      rm -f "$REDIS_PORT_FILE"
      [ "$attempt" = 3 ] && { tail -n 20 "$REDIS_LOG" >&2 || true; die "redis did not start (log: $(pretty "$REDIS_LOG"))"; }
    done
  fi
  say "redis $state on 127.0.0.1:$(redis_port) (data $(pretty "$REDIS_DIR"))"
}

redis_down() {
  redis_running || return 0
  stop_pid "$REDIS_PID_FILE" redis-server TERM # a clean shutdown: it syncs the append-only file
  say "redis stopped (data kept in $(pretty "$REDIS_DIR"))"
}

redis_kill() {
  redis_running || return 0
  stop_pid "$REDIS_PID_FILE" redis-server KILL
  say "redis killed (SIGKILL: it replays its append-only file on next start)"
}

redis_destroy() {
  redis_down
  rm -rf "$REDIS_DIR"
  say "redis destroyed ($(pretty "$REDIS_DIR") removed)"
}

redis_status() {
  if redis_running; then
    echo "redis: running redis://127.0.0.1:$(redis_port)/0 (data $(pretty "$REDIS_DIR"))"
  elif redis_created; then
    echo "redis: stopped (data $(pretty "$REDIS_DIR"))"
  else
    echo "redis: not created"
  fi
}

redis_env() { env_line REDIS_URL "redis://127.0.0.1:$(redis_port)/0"; }

# ---------------------------------------------------------------- memcached ----------------------
# The other cache. It keeps nothing, so `kill` simply empties it: what a cache outage looks like.
MC_DIR="$RUN_DIR/memcached"
MC_PID_FILE="$MC_DIR/memcached.pid"
MC_PORT_FILE="$MC_DIR/port"
MC_LOG="$MC_DIR/memcached.log" # only what it says before it detaches (bad options and the like)

mc_created() { [ -f "$MC_PORT_FILE" ]; }
mc_running() { pidfile_is "$MC_PID_FILE" memcached; }
mc_port() { cat "$MC_PORT_FILE" 2>/dev/null || true; }

# Up to 10 s for the pidfile (written once it listens) and the port. A memcached that could not
# bind exits without a pidfile, after it detached: this is also how a failed start shows.
mc_wait() { # mc_wait PORT
  local _
  for _ in $(seq 1 100); do
    if mc_running && port_in_use "$1"; then return 0; fi
    sleep 0.1
  done
  return 1
}

mc_up() {
  command -v memcached >/dev/null 2>&1 || die "memcached not found; run \`make deps\` first"
  local state="up" port attempt
  local -a as_user=()
  if mc_running; then
    state="up (already running)"
  else
    mkdir -p "$MC_DIR"
    # memcached refuses to run as root: -u makes it drop to nobody, who then writes the pidfile.
    if [ "$(id -u)" = 0 ]; then
      as_user=(-u nobody)
      reach_run_dir nobody
      chown nobody: "$MC_DIR"
    fi
    for attempt in 1 2 3; do
      port=$(pick_port "$MC_PORT_FILE")
      echo "$port" >"$MC_PORT_FILE"
      rm -f "$MC_PID_FILE"
      # -U 0: no UDP; -m 64: MiB of memory for items; -c 1024: connections; -d: detach.
      if (cd / && exec memcached -d -l 127.0.0.1 -p "$port" -U 0 -m 64 -c 1024 -P "$MC_PID_FILE" \
        "${as_user[@]}" </dev/null >>"$MC_LOG" 2>&1 9>&-) && mc_wait "$port"; then
        break
      fi
      stop_pid "$MC_PID_FILE" memcached KILL
      rm -f "$MC_PORT_FILE"
      [ "$attempt" = 3 ] && { tail -n 20 "$MC_LOG" >&2 || true; die "memcached did not start on 127.0.0.1:$port"; }
    done
  fi
  say "memcached $state on 127.0.0.1:$(mc_port)"
}

mc_down() {
  mc_running || return 0
  stop_pid "$MC_PID_FILE" memcached TERM
  say "memcached stopped"
}

mc_kill() {
  mc_running || return 0
  stop_pid "$MC_PID_FILE" memcached KILL
  say "memcached killed (SIGKILL: it starts empty)"
}

mc_destroy() {
  mc_down
  rm -rf "$MC_DIR"
  say "memcached destroyed ($(pretty "$MC_DIR") removed)"
}

mc_status() {
  if mc_running; then
    echo "memcached: running memcached://127.0.0.1:$(mc_port)"
  elif mc_created; then
    echo "memcached: stopped"
  else
    echo "memcached: not created"
  fi
}

mc_env() { env_line MEMCACHED_URL "memcached://127.0.0.1:$(mc_port)"; }

# ---------------------------------------------------------------- SMTP sink ----------------------
# shared/tools/smtp_sink.c: a local SMTP server that stores every message it accepts as a file in
# SMTP_SINK_DIR and relays nothing, so the worker's e-mails are real SMTP traffic that tests read
# back and no inbox ever sees. It runs as the invoking user and writes only under RUN_DIR.
SMTP_DIR="$RUN_DIR/smtp"
SMTP_MAIL_DIR="$SMTP_DIR/mail"
SMTP_PID_FILE="$SMTP_DIR/sink.pid"
SMTP_PORT_FILE="$SMTP_DIR/port" # written by the sink once it listens
SMTP_LOG="$SMTP_DIR/sink.log"

smtp_created() { [ -f "$SMTP_PORT_FILE" ]; }
smtp_running() { pidfile_is "$SMTP_PID_FILE" smtp-sink; }
smtp_port() { cat "$SMTP_PORT_FILE" 2>/dev/null || true; }
smtp_bin() {
  local b=${BUILD:-build}
  case "$b" in /*) ;; *) b="$REPO_ROOT/$b" ;; esac
  echo "$b/tools/smtp-sink"
}

# Up to 10 s for the port file and the port; fails at once if the sink exits (its log says why).
smtp_wait() { # smtp_wait PID
  local _ port stat
  for _ in $(seq 1 100); do
    port=$(smtp_port)
    if [ -n "$port" ] && proc_is "$1" smtp-sink && port_in_use "$port"; then return 0; fi
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    [[ "$stat" != *") Z "* ]] || return 1
    sleep 0.1
  done
  return 1
}

smtp_up() {
  local state="up" port attempt pid
  if smtp_running; then
    state="up (already running)"
  else
    # make knows whether it is out of date; what it prints goes to stderr (stdout is for results).
    # A make of its own, not a sub-make of the one that may be running us: it gets no jobserver
    # from here (so no MAKEFLAGS), and BUILD, SANITIZE... reach it through the environment.
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -s -C "$REPO_ROOT" \
      "${BUILD:-build}/tools/smtp-sink" >&2 9>&- ||
      die "could not build the SMTP sink (shared/tools/smtp_sink.c)"
    mkdir -p "$SMTP_MAIL_DIR"
    for attempt in 1 2 3; do
      # The last port while it is free, else 0: the sink then binds a free port itself (no race).
      port=$(smtp_port)
      if [[ ! "$port" =~ ^[0-9]+$ ]] || port_in_use "$port"; then port=0; fi
      rm -f "$SMTP_PORT_FILE"
      # setsid: a session of its own, so a Ctrl-C in the terminal that ran `make` does not reach
      # it; from /, so it keeps no directory busy; exec, so $! is the sink itself.
      (cd / && exec setsid "$(smtp_bin)" --port "$port" --bind 127.0.0.1 --dir "$SMTP_MAIL_DIR" \
        --port-file "$SMTP_PORT_FILE" </dev/null >>"$SMTP_LOG" 2>&1 9>&-) &
      pid=$!
      echo "$pid" >"$SMTP_PID_FILE"
      smtp_wait "$pid" && break
      stop_pid "$SMTP_PID_FILE" smtp-sink KILL
      [ "$attempt" = 3 ] && { tail -n 20 "$SMTP_LOG" >&2 || true; die "the SMTP sink did not start (log: $(pretty "$SMTP_LOG"))"; }
    done
  fi
  say "smtp $state on 127.0.0.1:$(smtp_port) (mail in $(pretty "$SMTP_MAIL_DIR"))"
}

smtp_down() {
  smtp_running || return 0
  stop_pid "$SMTP_PID_FILE" smtp-sink TERM
  say "smtp stopped (mail kept in $(pretty "$SMTP_MAIL_DIR"))"
}

smtp_kill() {
  smtp_running || return 0
  stop_pid "$SMTP_PID_FILE" smtp-sink KILL
  say "smtp killed (SIGKILL)"
}

smtp_destroy() {
  smtp_down
  rm -rf "$SMTP_DIR"
  say "smtp destroyed ($(pretty "$SMTP_DIR") removed)"
}

smtp_status() {
  local n
  if smtp_running; then
    n=$(find "$SMTP_MAIL_DIR" -maxdepth 1 -type f -name '*.eml' 2>/dev/null | wc -l)
    echo "smtp: running smtp://127.0.0.1:$(smtp_port) (mail in $(pretty "$SMTP_MAIL_DIR"): $n message(s))"
  elif smtp_created; then
    echo "smtp: stopped (mail in $(pretty "$SMTP_MAIL_DIR"))"
  else
    echo "smtp: not created"
  fi
}

smtp_env() {
  env_line SMTP_URL "smtp://127.0.0.1:$(smtp_port)"
  env_line SMTP_SINK_DIR "$SMTP_MAIL_DIR"
}

# Every stored message goes. A .tmp-* file is a message being written right now, unless it is older
# than a minute (left behind by a killed sink).
smtp_clear() {
  [ -d "$SMTP_MAIL_DIR" ] || return 0
  find "$SMTP_MAIL_DIR" -maxdepth 1 -type f \( -name '*.eml' -o \( -name '.tmp-*' -mmin +1 \) \) -delete
  say "smtp: mail dir emptied ($(pretty "$SMTP_MAIL_DIR"))"
}

# ---------------------------------------------------------------- Kafka dev broker ---------------
# shared/tools/kafka_dev_broker.c: librdkafka's mock cluster, the Kafka protocol on loopback in
# one process. Its log lives in memory, so `down` (or a crash) loses every message and offset,
# and its ports are picked by the mock at every start: KAFKA_BROKERS is rewritten each time, and
# a client must be restarted after the broker is. It runs as the invoking user, files under
# RUN_DIR only. kafka-pause/kafka-resume (SIGUSR1/SIGUSR2) take its brokers down and up without
# losing data: a broker outage for the tests.
KF_DIR="$RUN_DIR/kafka"
KF_PID_FILE="$KF_DIR/broker.pid"
KF_BOOTSTRAP_FILE="$KF_DIR/bootstrap" # written by the broker once it listens; removed when it stops
KF_LAST_FILE="$KF_DIR/last-bootstrap" # what services.env says after a down (created, stopped)
KF_LOG="$KF_DIR/broker.log"
KF_COMM=kafka-dev-broke # /proc/PID/stat's comm: the name cut to 15 characters

kf_created() { [ -f "$KF_LAST_FILE" ]; }
kf_running() { pidfile_is "$KF_PID_FILE" "$KF_COMM"; }
kf_brokers() { cat "$KF_BOOTSTRAP_FILE" 2>/dev/null || cat "$KF_LAST_FILE" 2>/dev/null || true; }
kf_bin() {
  local b=${BUILD:-build}
  case "$b" in /*) ;; *) b="$REPO_ROOT/$b" ;; esac
  echo "$b/tools/kafka-dev-broker"
}

# Up to 10 s for the bootstrap file and every broker's port; fails at once if the broker exits.
kf_wait() { # kf_wait PID
  local _ list hp ok stat
  for _ in $(seq 1 100); do
    list=$(cat "$KF_BOOTSTRAP_FILE" 2>/dev/null || true)
    if [ -n "$list" ] && proc_is "$1" "$KF_COMM"; then
      ok=1
      for hp in ${list//,/ }; do port_in_use "${hp##*:}" || ok=0; done
      [ "$ok" = 1 ] && return 0
    fi
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    [[ "$stat" != *") Z "* ]] || return 1
    sleep 0.1
  done
  return 1
}

kf_up() {
  local state="up" attempt pid
  if kf_running; then
    state="up (already running)"
  else
    # Built through make, as the SMTP sink is (see smtp_up for why a make of its own).
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -s -C "$REPO_ROOT" \
      "${BUILD:-build}/tools/kafka-dev-broker" >&2 9>&- ||
      die "could not build the Kafka dev broker (shared/tools/kafka_dev_broker.c)"
    mkdir -p "$KF_DIR"
    for attempt in 1 2 3; do
      rm -f "$KF_BOOTSTRAP_FILE"
      # setsid, from /, exec: as for the SMTP sink. Its default topics: task-events (3
      # partitions) and task-events.dlq (1); other topics are auto-created on first use.
      (cd / && exec setsid "$(kf_bin)" --bootstrap-file "$KF_BOOTSTRAP_FILE" \
        </dev/null >/dev/null 2>>"$KF_LOG" 9>&-) &
      pid=$!
      echo "$pid" >"$KF_PID_FILE"
      if kf_wait "$pid"; then
        cp "$KF_BOOTSTRAP_FILE" "$KF_LAST_FILE"
        break
      fi
      stop_pid "$KF_PID_FILE" "$KF_COMM" KILL
      [ "$attempt" = 3 ] && { tail -n 20 "$KF_LOG" >&2 || true; die "the Kafka dev broker did not start (log: $(pretty "$KF_LOG"))"; }
    done
  fi
  say "kafka $state on $(kf_brokers) (in memory: nothing survives a restart)"
}

kf_down() {
  kf_running || return 0
  stop_pid "$KF_PID_FILE" "$KF_COMM" TERM
  rm -f "$KF_BOOTSTRAP_FILE"
  say "kafka stopped (its messages and offsets are gone: it keeps them in memory)"
}

kf_kill() {
  kf_running || return 0
  stop_pid "$KF_PID_FILE" "$KF_COMM" KILL
  rm -f "$KF_BOOTSTRAP_FILE"
  say "kafka killed (SIGKILL: it starts empty, on new ports)"
}

kf_destroy() {
  kf_down
  rm -rf "$KF_DIR"
  say "kafka destroyed ($(pretty "$KF_DIR") removed)"
}

kf_status() {
  if kf_running; then
    echo "kafka: running $(kf_brokers) (log $(pretty "$KF_LOG"))"
  elif kf_created; then
    echo "kafka: stopped"
  else
    echo "kafka: not created"
  fi
}

kf_env() { env_line KAFKA_BROKERS "$(kf_brokers)"; }

# kf_signal USR1|USR2: pause or resume the running broker's listeners, and wait (up to 5 s) until
# every port refuses (pause) or accepts (resume), so a test's next step sees the new state.
kf_signal() {
  local want _ hp ok
  kf_running || die "kafka is not running; run \`services.sh up kafka\`"
  kill "-$1" "$(cat "$KF_PID_FILE")"
  if [ "$1" = USR1 ]; then want=1; else want=0; fi
  for _ in $(seq 1 50); do
    ok=1
    for hp in $(kf_brokers | tr , ' '); do
      if port_in_use "${hp##*:}"; then [ "$want" = 0 ] || ok=0; else [ "$want" = 1 ] || ok=0; fi
    done
    [ "$ok" = 1 ] && break
    sleep 0.1
  done
  [ "$ok" = 1 ] || die "kafka did not $([ "$want" = 1 ] && echo pause || echo resume) within 5 s"
  if [ "$want" = 1 ]; then say "kafka paused: its brokers refuse connections (data kept)"; else say "kafka resumed on $(kf_brokers)"; fi
}

# ---------------------------------------------------------------- RabbitMQ -----------------------
# The RabbitMQ event bus of week 7 (EVENT_BUS=rabbitmq): Debian's rabbitmq-server, an Erlang node.
# An Erlang node is more than a port: it has a node name, registers it with epmd (the Erlang port
# mapper, a daemon the VM starts when none answers) and listens on a distribution port that the
# CLI tools (rabbitmqctl, rabbitmq-diagnostics) use, authenticated by a cookie file in $HOME. All
# four are this run directory's own (a name from its path, free ports, HOME under it), so several
# checkouts and CI run brokers side by side, and the package's /etc, /var/lib and /var/log are
# never read or written. Everything listens on 127.0.0.1 only. The broker's user (taskd, a random
# password) is created by the node itself on its first boot, from default_user/default_pass in
# rabbitmq.conf; no management plugin (an empty enabled-plugins file).
RMQ_DIR="$RUN_DIR/rabbitmq"
RMQ_HOME="$RMQ_DIR/home" # HOME of the node and of the CLI tools: the Erlang cookie lives here
RMQ_CONF="$RMQ_DIR/rabbitmq.conf"
RMQ_PORT_FILE="$RMQ_DIR/port"         # AMQP, kept across restarts while free (URLs stay valid)
RMQ_DIST_PORT_FILE="$RMQ_DIR/dist-port" # Erlang distribution, new at every start
RMQ_EPMD_PORT_FILE="$RMQ_DIR/epmd-port" # epmd, new at every start
RMQ_PW_FILE="$RMQ_DIR/password"
RMQ_PID_FILE="$RMQ_DIR/beam.pid"   # the Erlang VM (beam.smp), written by the node as it boots
RMQ_LOG="$RMQ_DIR/log"               # RABBITMQ_LOG_BASE: the node's own log files
RMQ_OUT="$RMQ_DIR/server.out"         # what the script and the VM print (boot failures land here)
RMQ_LIB=/usr/lib/rabbitmq/bin # the scripts themselves: /usr/sbin's wrappers cd to /var/lib/rabbitmq
# and write /var/log/rabbitmq, as root they `su rabbitmq`

# As root the node runs as the package's rabbitmq user (an Erlang VM has no business being root),
# else as ourselves. The CLI tools run as the same user: the cookie file is readable by its owner only.
rmq_user() {
  if [ "$(id -u)" != 0 ]; then id -un; elif id -u rabbitmq >/dev/null 2>&1; then echo rabbitmq; else echo nobody; fi
}
# The node's name: one per run directory (a hash of its path), so two checkouts never collide in
# an epmd, and a node left running by a run directory is found again by the next `up`.
rmq_node() { echo "taskd-$(printf '%s' "$RUN_DIR" | sha1sum | cut -c1-12)@localhost"; }
rmq_port() { cat "$RMQ_PORT_FILE" 2>/dev/null || true; }
rmq_created() { [ -f "$RMQ_PW_FILE" ] && [ -f "$RMQ_PORT_FILE" ]; }
# The VM stops cleanly on SIGTERM (RabbitMQ 3.10 traps it) and crashes on SIGKILL; the
# rabbitmq-server script that started it then exits too.
rmq_running() { pidfile_is "$RMQ_PID_FILE" beam.smp; }

# rmq_as CMD...: a command with the node's environment, as the node's user. runuser resets HOME,
# hence `env` after it. RABBITMQ_CONF_ENV_FILE and RABBITMQ_ADVANCED_CONFIG_FILE name files of
# ours (the first is empty, the second absent), so /etc/rabbitmq is never read.
rmq_as() {
  run_as "$(rmq_user)" env HOME="$RMQ_HOME" \
    RABBITMQ_NODENAME="$(rmq_node)" \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$(rmq_port)" \
    RABBITMQ_DIST_PORT="$(cat "$RMQ_DIST_PORT_FILE" 2>/dev/null || true)" \
    ERL_EPMD_PORT="$(cat "$RMQ_EPMD_PORT_FILE" 2>/dev/null || true)" \
    ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia" \
    RABBITMQ_LOG_BASE="$RMQ_LOG" \
    RABBITMQ_CONFIG_FILE="$RMQ_CONF" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config" \
    RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins" \
    RABBITMQ_PID_FILE="$RMQ_PID_FILE" \
    "$@"
}
rmq_ping() { rmq_as "$RMQ_LIB/rabbitmq-diagnostics" -q ping >/dev/null 2>&1; }

# Rewritten at every start (only the port changes). The password sits in this file, 0600.
rmq_write_conf() { # rmq_write_conf PORT
  (
    umask 077
    cat >"$RMQ_CONF.tmp" <<CONF
# Written by shared/scripts/services.sh at every start: edits here are lost.
listeners.tcp.default = 127.0.0.1:$1
# Created on the node's first boot only (an empty database): the password then lives in it.
default_user = taskd
default_pass = $(cat "$RMQ_PW_FILE")
default_vhost = /
log.console = false
log.file.level = info
# A lab machine's disk can run low; below this the broker blocks publishers (say so in the log).
disk_free_limit.absolute = 50MB
CONF
  )
  mv -f "$RMQ_CONF.tmp" "$RMQ_CONF"
}

# Up to 120 s: the AMQP port opens once the broker has booted, and ping answers once the CLI can
# reach the node and authenticate (the check a person would run). Gives up at once when the
# script we started has exited (its output says why).
rmq_wait() { # rmq_wait SCRIPT_PID PORT
  local _ stat
  for _ in $(seq 1 600); do
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    [[ "$stat" != *") Z "* ]] || return 1
    if rmq_running && port_in_use "$2" && rmq_ping; then return 0; fi
    sleep 0.2
  done
  return 1
}

# The epmd the VM started on our ERL_EPMD_PORT outlives the node; stop it with the node. Only when
# no node is registered with it any more: a CLI tool of someone else's could still be using it.
rmq_stop_epmd() {
  local port
  port=$(cat "$RMQ_EPMD_PORT_FILE" 2>/dev/null || true)
  [[ "$port" =~ ^[0-9]+$ ]] || return 0
  if ERL_EPMD_PORT=$port epmd -names 2>/dev/null | grep -q '^name '; then return 0; fi
  ERL_EPMD_PORT=$port epmd -kill >/dev/null 2>&1 || true
}

rmq_up() {
  [ -x "$RMQ_LIB/rabbitmq-server" ] || die "rabbitmq-server not found ($RMQ_LIB); run \`make deps\` first"
  command -v epmd >/dev/null 2>&1 || die "epmd (Erlang) not found; run \`make deps\` first"
  local user state="up" port attempt pid t0
  user=$(rmq_user)
  t0=$(date +%s%N)
  if rmq_running; then
    state="up (already running)"
  else
    reach_run_dir "$user"
    mkdir -p "$RMQ_HOME" "$RMQ_LOG" "$RMQ_DIR/mnesia"
    if [ ! -f "$RMQ_PW_FILE" ]; then
      (umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$RMQ_PW_FILE")
    fi
    echo '[].' >"$RMQ_DIR/enabled_plugins"
    : >"$RMQ_DIR/rabbitmq-env.conf"
    for attempt in 1 2 3; do
      port=$(pick_port "$RMQ_PORT_FILE")
      echo "$port" >"$RMQ_PORT_FILE"
      random_free_port >"$RMQ_DIST_PORT_FILE"
      random_free_port >"$RMQ_EPMD_PORT_FILE"
      rmq_write_conf "$port"
      if [ "$(id -u)" = 0 ]; then chown -R "$user": "$RMQ_DIR"; fi
      rm -f "$RMQ_PID_FILE"
      # setsid: a session of its own, so a Ctrl-C in the terminal that ran `make` does not reach it.
      rmq_as setsid "$RMQ_LIB/rabbitmq-server" </dev/null >>"$RMQ_OUT" 2>&1 9>&- &
      pid=$!
      rmq_wait "$pid" "$port" && break
      stop_pid "$RMQ_PID_FILE" beam.smp KILL # started but not answering in time
      rmq_stop_epmd
      [ "$attempt" = 3 ] && { tail -n 20 "$RMQ_OUT" >&2 || true; die "rabbitmq did not start (output: $(pretty "$RMQ_OUT"), logs: $(pretty "$RMQ_LOG"))"; }
    done
    state="up (started in $((($(date +%s%N) - t0) / 1000000)) ms)"
  fi
  say "rabbitmq $state on 127.0.0.1:$(rmq_port) (node $(rmq_node), data $(pretty "$RMQ_DIR"))"
}

rmq_down() {
  rmq_running || { rmq_stop_epmd; return 0; }
  stop_pid "$RMQ_PID_FILE" beam.smp TERM # a clean stop: queues and messages are synced to disk
  rmq_stop_epmd
  say "rabbitmq stopped (data kept in $(pretty "$RMQ_DIR"))"
}

rmq_kill() {
  rmq_running || return 0
  stop_pid "$RMQ_PID_FILE" beam.smp KILL
  rmq_stop_epmd
  say "rabbitmq killed (SIGKILL: durable queues recover their persistent messages on next start)"
}

rmq_destroy() {
  rmq_down
  rm -rf "$RMQ_DIR"
  say "rabbitmq destroyed ($(pretty "$RMQ_DIR") removed)"
}

rmq_status() {
  if rmq_running; then
    echo "rabbitmq: running amqp://taskd@127.0.0.1:$(rmq_port)/%2f (node $(rmq_node), data $(pretty "$RMQ_DIR"))"
  elif rmq_created; then
    echo "rabbitmq: stopped (data $(pretty "$RMQ_DIR"))"
  else
    echo "rabbitmq: not created"
  fi
}

# %2f: the default virtual host "/", URL-encoded (amqp_parse_url decodes it).
rmq_env() { env_line AMQP_URL "amqp://taskd:$(cat "$RMQ_PW_FILE")@127.0.0.1:$(rmq_port)/%2f"; }

# ---------------------------------------------------------------- OCI registry ------------------
# Debian's docker-registry (the CNCF Distribution registry, what Docker Hub's registry:2 image
# runs), from week 8: `make publish` pushes the release images to it, and podman pulls them back.
# Plain HTTP on loopback (podman is told --tls-verify=false for it); its blobs live in RUN_DIR.
REG_DIR="$RUN_DIR/registry"
REG_PID_FILE="$REG_DIR/registry.pid"
REG_PORT_FILE="$REG_DIR/port"
REG_LOG="$REG_DIR/registry.log"

reg_created() { [ -f "$REG_PORT_FILE" ]; }
reg_running() { pidfile_is "$REG_PID_FILE" docker-registry; }
reg_port() { cat "$REG_PORT_FILE" 2>/dev/null || true; }

# Up to 10 s for its API to answer (GET /v2/ is 200 on a registry without auth).
reg_wait() { # reg_wait PID PORT
  local _
  for _ in $(seq 1 100); do
    proc_is "$1" docker-registry || return 1
    [ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$2/v2/" 2>/dev/null)" = 200 ] && return 0
    sleep 0.1
  done
  return 1
}

reg_up() {
  command -v docker-registry >/dev/null 2>&1 || die "docker-registry not found; run \`make deps\` first"
  local state="up" port attempt pid
  if reg_running; then
    state="up (already running)"
  else
    mkdir -p "$REG_DIR/data"
    for attempt in 1 2 3; do
      port=$(pick_port "$REG_PORT_FILE")
      echo "$port" >"$REG_PORT_FILE"
      printf '%s\n' "# Written by shared/scripts/services.sh; do not edit (it is rewritten)." \
        "version: 0.1" "log:" "  level: warn" "storage:" "  filesystem:" \
        "    rootdirectory: $REG_DIR/data" "  delete:" "    enabled: true" "http:" \
        "  addr: 127.0.0.1:$port" >"$REG_DIR/config.yml"
      (cd / && exec setsid docker-registry serve "$REG_DIR/config.yml" </dev/null >>"$REG_LOG" 2>&1 9>&-) &
      pid=$!
      echo "$pid" >"$REG_PID_FILE"
      reg_wait "$pid" "$port" && break
      stop_pid "$REG_PID_FILE" docker-registry KILL
      rm -f "$REG_PORT_FILE"
      [ "$attempt" = 3 ] && { tail -n 20 "$REG_LOG" >&2 || true; die "docker-registry did not start on 127.0.0.1:$port"; }
    done
  fi
  say "registry $state on 127.0.0.1:$(reg_port)"
}

reg_down() {
  reg_running || return 0
  stop_pid "$REG_PID_FILE" docker-registry TERM
  say "registry stopped (images kept in $(pretty "$REG_DIR/data"))"
}

reg_kill() {
  reg_running || return 0
  stop_pid "$REG_PID_FILE" docker-registry KILL
  say "registry killed (SIGKILL)"
}

reg_destroy() {
  reg_down
  rm -rf "$REG_DIR"
  say "registry destroyed ($(pretty "$REG_DIR") removed)"
}

reg_status() {
  if reg_running; then
    echo "registry: running 127.0.0.1:$(reg_port) (images in $(pretty "$REG_DIR/data"))"
  elif reg_created; then
    echo "registry: stopped (images in $(pretty "$REG_DIR/data"))"
  else
    echo "registry: not created"
  fi
}

reg_env() { env_line REGISTRY "127.0.0.1:$(reg_port)"; }

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
    prune-test-dbs) [ $# -eq 0 ] || usage; reap_orphan_runs; pg_prune_test_dbs ;;
    psql) pg_find_bin; pg_psql "$@" ;;
    url) [ $# -eq 0 ] || usage; pg_url ;;
    pg-bin) [ $# -eq 0 ] || usage; pg_find_bin; echo "$PG_BIN_DIR" ;;
    smtp-clear) [ $# -eq 0 ] || usage; smtp_clear ;;
    kafka-pause) [ $# -eq 0 ] || usage; kf_signal USR1 ;;
    kafka-resume) [ $# -eq 0 ] || usage; kf_signal USR2 ;;
    *) usage ;;
  esac
fi
