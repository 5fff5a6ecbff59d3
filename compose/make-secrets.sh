#!/usr/bin/env bash
# make-secrets.sh — the secret files compose.yaml mounts, made once with random values:
#   secrets/postgres_password  the password of PostgreSQL's role taskd (the postgres container)
#   secrets/database_url       taskd's DATABASE_URL with that password (DATABASE_URL_FILE)
#   secrets/jwt_secret         the key that signs access tokens, 48 random bytes (JWT_SECRET_FILE)
#
# usage: compose/make-secrets.sh [DIR]   (DIR: compose/secrets)
# A file that exists is kept: the database was initialised with that password, and tokens were
# signed with that key. Delete the directory (and the pg-data volume) to start over.
#
# Modes: the directory is 0700, so other users of this machine cannot read the files; the files
# are 0644 because Compose (without Swarm) bind-mounts them as they are, and the programs in
# the containers run as other uids (taskd: 10001, postgres: its own) that must read them.
set -euo pipefail
dir=${1:-$(cd "$(dirname "$0")" && pwd)/secrets}
umask 022
mkdir -p "$dir"
chmod 0700 "$dir"

# 32 random bytes as 64 hex digits: safe inside a URL without any escaping.
random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

make_file() { # NAME CONTENT
  local path="$dir/$1" tmp
  [ -s "$path" ] && return 0
  tmp=$(mktemp "$dir/.$1.XXXXXX")
  printf '%s\n' "$2" >"$tmp"
  chmod 0644 "$tmp"
  mv "$tmp" "$path"
  echo "make-secrets: wrote $path"
}

make_file postgres_password "$(random_hex 32)"
make_file database_url "postgresql://taskd:$(head -n1 "$dir/postgres_password")@postgres:5432/taskd"
make_file jwt_secret "$(random_hex 48)"
