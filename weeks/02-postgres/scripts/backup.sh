#!/usr/bin/env bash
# backup.sh — a logical backup of one taskd database: pg_dump in custom format (-Fc).
#
# usage: backup.sh [DATABASE_URL] [FILE]
#   DATABASE_URL  default: $PG_URL from <run dir>/services.env (sourced if present; the run dir is
#                 $TASKD_RUN_DIR or <repo>/.run, like shared/scripts/services.sh)
#   FILE          default: <run dir>/backups/taskd-<UTC timestamp>.dump
# Prints "FILE SIZE_BYTES" on stdout (one line); progress and errors go to stderr.
#
# What a logical backup is: the database re-expressed as SQL-level objects and rows (CREATE TABLE,
# the rows of each table, then indexes and constraints), read from one consistent snapshot while
# the service keeps running. The custom format is compressed and lets pg_restore pick, reorder
# and parallelise what it restores (restore.sh puts it into a new database).
#
# When it protects you:
#   - human error: a bad UPDATE/DELETE, a dropped table, a broken migration — restore the dump
#     beside the live database and copy back what was lost;
#   - moving between PostgreSQL major versions or machines: a dump is independent of the on-disk
#     format, architecture and configuration (a physical copy or a replica is not);
#   - it is a file: it can be copied off the machine, kept for months, checked by restoring it.
# What it does not protect: everything written since the dump was taken. A dump is a point in
# time; restoring it loses the rows created after it (for "up to the last second" you need WAL
# archiving and point-in-time recovery, a physical backup). It also holds every row in clear,
# including the key cursors are signed with (table settings): the file is created 0600.
#
# The password never appears on a command line (ps shows those to every user): it is cut out of
# the URL and handed to pg_dump in PGPASSWORD.
set -euo pipefail

# shellcheck source=pg_common.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/pg_common.sh"

die() { echo "backup: error: $*" >&2; exit 1; }
[ $# -le 2 ] || { echo "usage: backup.sh [DATABASE_URL] [FILE]" >&2; exit 2; }
case "${1:-}" in -h | --help) echo "usage: backup.sh [DATABASE_URL] [FILE]" >&2; exit 2 ;; esac

pg_load_services_env
url=${1:-${PG_URL:-}}
[ -n "$url" ] || die "no DATABASE_URL given and no PG_URL (run \`bash shared/scripts/services.sh up\` first)"
file=${2:-$RUN_DIR/backups/taskd-$(date -u +%Y%m%dT%H%M%SZ).dump}

split_url "$url"

# Client binaries of the server's major version (pg_dump refuses a newer server), else PATH's.
pg_client_bin
PG_DUMP=$(pg_tool pg_dump)

mkdir -p "$(dirname "$file")"
# Into a side file renamed at the end: a failed or interrupted dump never looks like a backup.
tmp=$(mktemp "$(dirname "$file")/.backup.XXXXXX")
trap 'rm -f "$tmp"' EXIT
chmod 600 "$tmp"
PGPASSWORD=$URL_PW "$PG_DUMP" -w -Fc --dbname="$URL_NOPW" -f "$tmp" ||
  die "pg_dump failed (see above)"
mv -f "$tmp" "$file"
trap - EXIT
size=$(stat -c %s "$file")
echo "backup: wrote $size bytes to $file" >&2
echo "$file $size"
