#!/usr/bin/env bash
# backup.sh — a nightly PostgreSQL backup with rotation, for cron or a systemd timer.
#
# usage: backup.sh [--url URL] [--dir DIR] [--daily K] [--weekly W] [--now STAMP]
#        backup.sh --verify FILE
#   --url URL      the database (default: $DATABASE_URL, else $PG_URL, else PG_URL from the
#                  repository's .run/services.env when run from a checkout)
#   --dir DIR      where dumps live (default: /var/backups/taskd, or .run/backups/ops in a checkout)
#   --daily K      keep the newest dump of each of the K newest days that have one (default 7)
#   --weekly W     and of each of the W newest ISO weeks that have one (default 4)
#   --now STAMP    the dump's time as YYYYmmddTHHMMSSZ (default: now; for tests and replays)
#   --verify FILE  only check FILE: pg_restore --list reads it, it holds table data, and
#                  pg_restore reads every block of it to the end
#   -h, --help     this text
#   PG_BIN         (environment) the directory of pg_dump and pg_restore when PATH's are of
#                  another major version (pg_dump refuses a server newer than itself)
# Exit status: 0 the new dump is written and verified (and old ones rotated), 1 it failed (no
# dump was deleted), 2 usage.
#
# The order is the safety: dump into a hidden ".partial" file, verify it with pg_restore --list,
# only then rename it to taskd-STAMP.dump, and only after that delete what the rotation does not
# keep. A failed or interrupted dump leaves every old backup in place, the newest verified dump
# is always kept (it is the newest of its day and week: rotation stops if it would not be), so
# the one backup known to be good right now is never the one deleted. The database password never
# appears on a command line (ps shows those to every user): it is cut from the URL and handed
# over in PGPASSWORD.
set -euo pipefail

usage() { sed -n '/^# usage:/,/^# Exit status/s/^# \{0,1\}//p' "$0"; }
die() { echo "backup: $*" >&2; exit "${2:-1}"; }
log() { echo "backup: $*" >&2; }

url="" dir="" daily=7 weekly=4 now="" verify=""
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --url | --dir | --daily | --weekly | --now | --verify)
      [ $# -ge 2 ] || die "$1 needs a value" 2
      case $1 in
        --url) url=$2 ;; --dir) dir=$2 ;; --daily) daily=$2 ;; --weekly) weekly=$2 ;;
        --now) now=$2 ;; --verify) verify=$2 ;;
      esac
      shift 2 ;;
    *) die "unknown argument $1 (see --help)" 2 ;;
  esac
done
[[ $daily =~ ^[0-9]+$ && $weekly =~ ^[0-9]+$ ]] || die "--daily and --weekly take whole numbers" 2
[ $((daily + weekly)) -ge 1 ] || die "--daily 0 --weekly 0 would keep nothing" 2
[ -z "$now" ] || [[ $now =~ ^[0-9]{8}T[0-9]{6}Z$ ]] || die "--now must look like 20261205T031500Z" 2

PG_DUMP=${PG_BIN:+$PG_BIN/}pg_dump
PG_RESTORE=${PG_BIN:+$PG_BIN/}pg_restore
{ command -v "$PG_DUMP" && command -v "$PG_RESTORE"; } >/dev/null ||
  die "pg_dump and pg_restore are needed (apt-get install postgresql-client, or set PG_BIN)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/backup.XXXXXX")
partial=""
cleanup() { rm -rf "$tmp"; [ -z "$partial" ] || rm -f "$partial"; }
trap cleanup EXIT

# verify FILE: pg_restore can read the archive's table of contents, the contents hold table
# data (a dump of an empty or wrong database lists only a schema: not a backup of the service),
# and every data block reads to the end. --list alone reads only the table of contents at the
# head of the file: a dump cut short by a full disk still lists every table (test-ops.sh checks
# exactly that), so the whole archive is also restored into a script thrown away.
verify() {
  "$PG_RESTORE" --list "$1" >"$tmp/toc" 2>"$tmp/toc.err" || {
    sed 's/^/  /' "$tmp/toc.err" >&2
    return 1
  }
  grep -q ' TABLE DATA ' "$tmp/toc" || { log "$1 holds no table data"; return 1; }
  "$PG_RESTORE" -f /dev/null "$1" 2>"$tmp/read.err" || {
    sed 's/^/  /' "$tmp/read.err" >&2
    log "$1 lists its tables but cannot be read to the end (truncated or damaged)"
    return 1
  }
}

if [ -n "$verify" ]; then
  [ -r "$verify" ] || die "cannot read $verify"
  verify "$verify" || die "$verify is not a usable dump"
  log "$verify: $(grep -c ' TABLE DATA ' "$tmp/toc") tables with data, readable by pg_restore"
  exit 0
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_env="$here/../../../.run/services.env"
if [ -z "$url" ]; then url=${DATABASE_URL:-${PG_URL:-}}; fi
if [ -z "$url" ] && [ -f "$repo_env" ]; then
  url=$(sed -n 's/^PG_URL=//p' "$repo_env" | tr -d "'\"")
fi
[ -n "$url" ] || die "no database: pass --url, or set DATABASE_URL" 2
if [ -z "$dir" ]; then
  if [ -f "$repo_env" ]; then dir="$here/../../../.run/backups/ops"; else dir=/var/backups/taskd; fi
fi

# The password travels in PGPASSWORD, the rest of the URL on the command line.
pw_re='^(postgres(ql)?://[^:@/?]+):([^@/?]*)@(.*)$'
if [[ $url =~ $pw_re ]]; then
  pw=${BASH_REMATCH[3]}
  export PGPASSWORD
  PGPASSWORD=$(printf '%b' "${pw//%/\\x}")
  url="${BASH_REMATCH[1]}@${BASH_REMATCH[4]}"
fi

umask 077 # a dump holds every row in clear
mkdir -p "$dir"
stamp=${now:-$(date -u +%Y%m%dT%H%M%SZ)}
final="$dir/taskd-$stamp.dump"
[ ! -e "$final" ] || die "$final exists already"

# list_dumps DIR: the backups in DIR, names only, newest first. Only taskd-STAMP.dump counts: the
# hidden .partial of a dump under way is never one of them.
list_dumps() {
  find "$1" -maxdepth 1 -name 'taskd-*.dump' -printf '%f\n' |
    grep -E '^taskd-[0-9]{8}T[0-9]{6}Z\.dump$' | sort -r || true
}

# keepers: of the names on stdin (newest first), those rotation keeps. A dump is kept when it is
# the newest of one of the $daily newest days, or of one of the $weekly newest ISO weeks; the
# names carry the time, so mtimes (touched by a copy) do not matter. Newest first: the first dump
# met of a day or week is the one kept.
keepers() {
  local f d w keep days=0 weeks=0 last_day="" last_week=""
  while IFS= read -r f; do
    d=${f:6:8}
    w=$(date -u -d "$d" +%G-W%V)
    keep=0
    if [ "$d" != "$last_day" ]; then
      last_day=$d
      if [ "$days" -lt "$daily" ]; then keep=1; days=$((days + 1)); fi
    fi
    if [ "$w" != "$last_week" ]; then
      last_week=$w
      if [ "$weeks" -lt "$weekly" ]; then keep=1; weeks=$((weeks + 1)); fi
    fi
    [ "$keep" = 0 ] || echo "$f"
  done
}

# LAB:BEGIN 5.8 Make the backup safe: dump into the hidden $dir/.taskd-$stamp.dump.partial (set partial first, so the EXIT trap removes it on failure), verify it, rename it to $final in one step, and only then delete every dump that keepers does not keep (never the new one). A failed or unverified dump exits 1 and deletes nothing.
# 1. Dump beside the backups, under a name rotation never looks at.
partial="$dir/.taskd-$stamp.dump.partial"
log "pg_dump -Fc into $partial"
"$PG_DUMP" -w -Fc --dbname="$url" -f "$partial" 2>"$tmp/dump.err" || {
  sed 's/^/  /' "$tmp/dump.err" >&2
  die "pg_dump failed: nothing was rotated, the old backups are untouched"
}
# 2. Verify, then publish with an atomic rename.
verify "$partial" || die "the new dump does not verify: nothing was rotated, the old backups are untouched"
mv -f "$partial" "$final"
partial=""
log "wrote $final ($(stat -c %s "$final") bytes, $(grep -c ' TABLE DATA ' "$tmp/toc") tables with data)"

# 3. Rotate, only now that the new dump is known to be good.
list_dumps "$dir" >"$tmp/all"
keepers <"$tmp/all" >"$tmp/keep"
grep -qxF "$(basename "$final")" "$tmp/keep" || die "rotation would drop the new dump (a dump newer than --now exists?)"
kept=$(wc -l <"$tmp/keep")
deleted=0
while IFS= read -r f; do
  grep -qxF "$f" "$tmp/keep" && continue
  rm -f -- "${dir:?}/$f"
  deleted=$((deleted + 1))
done <"$tmp/all"
log "kept $kept dump(s) ($daily daily, $weekly weekly), deleted $deleted"
# LAB:END log "no dump written, nothing rotated (lab 5.8 is not done)"
