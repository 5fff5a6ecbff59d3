#!/usr/bin/env bash
# restore.sh — puts a backup.sh dump (pg_dump custom format) into a NEW database.
#
# usage: restore.sh FILE [TARGET_DATABASE_URL]
#   TARGET_DATABASE_URL  an existing, empty database (e.g. from `services.sh fresh-db`); default:
#                        a new database restore_<UTC timestamp>_<random> in the local cluster
#                        ($PG_URL of <run dir>/services.env), created by and owned by taskd.
# Prints the target URL as the last line of stdout (start a server on it with DATABASE_URL=...);
# the row counts of tasks and schema_migrations, and all progress, go to stderr.
#
# Why a new database and never the live one: a restore is how you get back what a mistake
# destroyed, and the live database holds everything written since the dump. Restore beside it,
# look, then copy back the rows you need (or point the service at the restored copy). So this
# refuses a target that already has a tasks table (exit 1) instead of mixing two histories.
#
# pg_restore runs with --single-transaction --exit-on-error: the restore is all or nothing (a
# half-restored database is worse than none), and with --no-owner every object belongs to the
# role restoring it, so a dump taken on one cluster restores on another with other role names.
# A database this script created is dropped again when the restore fails.
set -euo pipefail

# shellcheck source=pg_common.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/pg_common.sh"

die() { echo "restore: error: $*" >&2; exit 1; }
usage() { echo "usage: restore.sh FILE [TARGET_DATABASE_URL]" >&2; exit 2; }
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
case "$1" in -h | --help) usage ;; esac
file=$1
if [ ! -f "$file" ] || [ ! -r "$file" ]; then die "cannot read the dump $file"; fi

pg_load_services_env

pg_client_bin
PSQL=$(pg_tool psql)
PG_RESTORE=$(pg_tool pg_restore)

# sql URL_NOPW PASSWORD SQL: one statement, unaligned output, errors fatal.
sql() { PGPASSWORD=$2 "$PSQL" -X -q -At -w -v ON_ERROR_STOP=1 --dbname="$1" -c "$3"; }

# Check the dump before creating anything (a truncated or non-custom file fails here).
"$PG_RESTORE" --list "$file" >/dev/null || die "$file is not a readable pg_dump custom-format archive"

created=
if [ $# -ge 2 ]; then
  target=$2
  split_url "$target"
  T_NOPW=$URL_NOPW T_PW=$URL_PW
else
  [ -n "${PG_URL:-}" ] || die "no target given and no PG_URL (run \`bash shared/scripts/services.sh up\` first)"
  split_url "$PG_URL"
  name="restore_$(date -u +%Y%m%dT%H%M%SZ)_$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
  sql "$URL_NOPW" "$URL_PW" "CREATE DATABASE \"$name\" OWNER taskd" || die "could not create database $name"
  created=$name
  admin_nopw=$URL_NOPW admin_pw=$URL_PW
  # Same server and credentials, another database: replace the path of the URL.
  target=$(printf '%s' "$PG_URL" | sed -E "s#^([a-z]+://[^/]+)/[^?]*#\\1/$name#")
  split_url "$target"
  T_NOPW=$URL_NOPW T_PW=$URL_PW
  echo "restore: created database $name" >&2
fi

drop_created() {
  [ -n "$created" ] || return 0
  sql "$admin_nopw" "$admin_pw" "DROP DATABASE IF EXISTS \"$created\"" >/dev/null 2>&1 || true
  echo "restore: dropped database $created again" >&2
}

has_tasks=$(sql "$T_NOPW" "$T_PW" "SELECT to_regclass('public.tasks') IS NOT NULL") ||
  { drop_created; die "cannot connect to the target database"; }
if [ "$has_tasks" = t ]; then
  die "the target database already has a tasks table; restore into a new, empty database (omit TARGET_DATABASE_URL to get one)"
fi

if ! PGPASSWORD=$T_PW "$PG_RESTORE" -w --no-owner --exit-on-error --single-transaction \
  --dbname="$T_NOPW" "$file"; then
  drop_created
  die "pg_restore failed; nothing was restored (single transaction)"
fi

count() { sql "$T_NOPW" "$T_PW" "SELECT count(*) || ' rows' FROM $1" 2>/dev/null || echo "no such table"; }
echo "restore: restored $file: tasks $(count tasks), schema_migrations $(count schema_migrations)" >&2
echo "$target"
