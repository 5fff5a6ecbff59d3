#!/usr/bin/env bash
# install-deps.sh — makes sure this machine has every package the lab builds and tests with.
#
# Called by `make run` and `make test` (and every build), so a fresh Debian 12 / Ubuntu machine
# needs nothing but those commands. It checks first (pkg-config and `command -v`, a few ms) and
# calls apt-get only for what is missing, with sudo when not run as root.
set -euo pipefail

quiet=0
groups="build"
for arg in "$@"; do
  case "$arg" in
    --quiet) quiet=1 ;;
    bench) groups="$groups bench" ;;
    fuzz) groups="$groups fuzz" ;;
    valgrind) groups="$groups valgrind" ;;
    *) echo "usage: install-deps.sh [--quiet] [bench] [fuzz] [valgrind]" >&2; exit 2 ;;
  esac
done

# pkg-config module → Debian package. Later weeks append to these lists.
declare -A PKG_MODULES=(
  [libmicrohttpd]=libmicrohttpd-dev
  [libcjson]=libcjson-dev
  [sqlite3]=libsqlite3-dev
  [criterion]=libcriterion-dev
  [libcurl]=libcurl4-openssl-dev
  [libsodium]=libsodium-dev
  [yaml-0.1]=libyaml-dev
  [libpq]=libpq-dev
  [libcrypto]=libssl-dev
  [hiredis]=libhiredis-dev
  [libmemcached]=libmemcached-dev
)
# command → Debian package.
declare -A COMMANDS=(
  [cc]=gcc
  [make]=make
  [pkg-config]=pkg-config
  [curl]=curl
  [sqlite3]=sqlite3
  [psql]=postgresql-client
  [pg_dump]=postgresql-client
  # Week 3's local services (shared/scripts/services.sh runs them as plain processes).
  [redis-server]=redis-server
  [redis-cli]=redis-tools
  [memcached]=memcached
)
# `make fuzz` (and so `make test`) builds with clang and its libFuzzer runtime.
if [[ " $groups " == *" fuzz "* ]]; then
  COMMANDS[clang]=clang
fi
if [[ " $groups " == *" valgrind "* ]]; then
  COMMANDS[valgrind]=valgrind
fi
# Only `make bench` needs these (a load generator and the nginx ceiling it is compared with).
if [[ " $groups " == *" bench "* ]]; then
  COMMANDS[wrk]=wrk
  COMMANDS[nginx]=nginx-light
fi

missing=()
if [[ " $groups " == *" fuzz "* ]] &&
  ! compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null; then
  missing+=(libclang-rt-dev) # the libFuzzer runtime, not pulled in by clang itself
fi
# Week 2's local PostgreSQL (shared/scripts/services.sh runs the server binaries directly).
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  missing+=(postgresql)
fi
if ! command -v pkg-config >/dev/null 2>&1; then
  missing+=(pkg-config)
fi
for mod in "${!PKG_MODULES[@]}"; do
  command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$mod" 2>/dev/null && continue
  missing+=("${PKG_MODULES[$mod]}")
done
for cmd in "${!COMMANDS[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 && continue
  # nginx lives in /usr/sbin, which a normal user's PATH may not have.
  [ -x "/usr/sbin/$cmd" ] && continue
  missing+=("${COMMANDS[$cmd]}")
done

if [ ${#missing[@]} -eq 0 ]; then
  [ $quiet -eq 1 ] || echo "deps: everything is installed"
  exit 0
fi

mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "deps: not root and no sudo: install ${missing[*]} by hand" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
