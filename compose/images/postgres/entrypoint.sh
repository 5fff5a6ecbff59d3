#!/bin/bash
# postgres-entrypoint — first start: initdb, then the role and database that POSTGRES_USER,
# POSTGRES_DB and POSTGRES_PASSWORD_FILE name (the official image's variables); every start:
# exec the server as PID 1, so signals reach it. A missing password is an error, never a
# database anyone can log in to.
set -euo pipefail
die() { echo "postgres-entrypoint: $*" >&2; exit 1; }

user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  [ -n "${POSTGRES_PASSWORD_FILE:-}" ] || die "POSTGRES_PASSWORD_FILE is not set: name the secret file that holds the password"
  [ -r "$POSTGRES_PASSWORD_FILE" ] || die "POSTGRES_PASSWORD_FILE=$POSTGRES_PASSWORD_FILE cannot be read"
  pwfile=$(mktemp)
  trap 'rm -f "$pwfile"' EXIT
  head -n1 "$POSTGRES_PASSWORD_FILE" | tr -d '\n' >"$pwfile"
  [ -s "$pwfile" ] || die "$POSTGRES_PASSWORD_FILE is empty"
  initdb --username="$user" --pwfile="$pwfile" --auth-local=peer --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  trap - EXIT
  {
    echo "listen_addresses = '*'"
    echo "unix_socket_directories = '/var/run/postgresql'"
  } >>"$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    # Single-user mode: no server listens while the database is made.
    echo "CREATE DATABASE \"$db\" OWNER \"$user\";" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "postgres-entrypoint: initialised $PGDATA (role $user, database $db)"
fi
exec "$@"
