#!/usr/bin/env bash
# install-deps.sh — makes sure this machine has every package the lab builds and tests with.
#
# usage: install-deps.sh [--quiet] [bench] [fuzz] [valgrind] [watch]
# Called by `make run` and `make test` (and every build), so a fresh Debian 12 / Ubuntu machine
# needs nothing but those commands. What is needed is listed once: shared/packages (the core,
# the test libraries and the tool groups) and weeks/NN-*/packages (each week's own); see
# shared/packages for the format. It checks first (pkg-config, `command -v`, a glob: a few ms)
# and calls apt-get only for what is missing, with sudo when not run as root.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)

quiet=0
groups=" build test "
for arg in "$@"; do
  case "$arg" in
    --quiet) quiet=1 ;;
    bench | fuzz | valgrind | watch) groups="$groups$arg " ;;
    *) echo "usage: install-deps.sh [--quiet] [bench] [fuzz] [valgrind] [watch]" >&2; exit 2 ;;
  esac
done

# present KIND NAME: is it on this machine?
present() {
  case "$1" in
    pkg) command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$2" 2>/dev/null ;;
    # nginx lives in /usr/sbin, which a normal user's PATH may not have.
    cmd) command -v "$2" >/dev/null 2>&1 || [ -x "/usr/sbin/$2" ] ;;
    file) compgen -G "$2" >/dev/null ;;
    *) echo "install-deps: unknown kind '$1'" >&2; return 1 ;;
  esac
}

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
for list in "$here/shared/packages" "$here"/weeks/[0-9][0-9]-*/packages; do
  [ -f "$list" ] || continue
  while read -r group kind name package _; do
    case "$group" in '' | '#'*) continue ;; esac
    [[ "$groups" == *" $group "* ]] || continue
    present "$kind" "$name" || missing+=("$package")
  done <"$list"
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
