#!/usr/bin/env bash
# install-deps.sh — makes sure this machine has every package the lab builds and tests with.
#
# usage: install-deps.sh [--quiet] [bench] [fuzz] [valgrind] [watch] [docs-ui]
# Called by `make run` and `make test` (and every build), so a fresh Debian 12 / Ubuntu machine
# needs nothing but those commands. What is needed is listed once: shared/packages (the core,
# the test libraries and the tool groups) and weeks/NN-*/packages (each week's own); see
# shared/packages for the format. It checks first (pkg-config, `command -v`, a glob: a few ms)
# and calls apt-get only for what is missing, with sudo when not run as root.
#
# Then the npm packages of shared/npm (package.json, pinned by package-lock.json): Swagger UI's
# files that taskd compiles in for GET /docs, Stoplight Prism for make test-openapi-proxy and
# playwright-core for make test-docs-ui, action-validator and gitlab-ci-local for make
# ci-validate (the pipeline files against GitHub's and GitLab's schemas). `npm ci` runs only when node_modules is missing or older
# than the lock file. Without the npm registry the build still works: /docs then says how to
# get Swagger UI, and the make targets that need the others say what is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)

quiet=0
groups=" build test "
for arg in "$@"; do
  case "$arg" in
    --quiet) quiet=1 ;;
    bench | fuzz | valgrind | watch | docs-ui) groups="$groups$arg " ;;
    *) echo "usage: install-deps.sh [--quiet] [bench] [fuzz] [valgrind] [watch] [docs-ui]" >&2; exit 2 ;;
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

# The npm packages, when npm is there (the `build` group installs it) and they are not current.
npm_deps() {
  local dir="$here/shared/npm"
  [ -f "$dir/package-lock.json" ] && command -v npm >/dev/null 2>&1 || return 0
  if [ -f "$dir/node_modules/.package-lock.json" ] && [ ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    return 0
  fi
  echo "deps: npm ci in shared/npm (Swagger UI, Prism, playwright-core, the pipeline validators)"
  if ! (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null); then
    echo "deps: npm ci failed (is the npm registry reachable?): the build goes on without" \
      "Swagger UI (GET /docs says how to get it); make test-openapi-proxy, test-docs-ui and ci-validate need it" >&2
  fi
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
  npm_deps
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
$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
npm_deps
echo "deps: done"
