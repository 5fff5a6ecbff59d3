#!/usr/bin/env bash
# podman.sh — the project's container engine: rootful podman with a configuration of our own, and
# the base image every image of the lab starts FROM.
#
# usage: podman.sh check            can podman run here? 0, or the reason on stderr and exit 3
#        podman.sh base             build localhost/taskd-base:bookworm unless it is current
#        podman.sh image NAME DIR WHAT [INPUT...]
#                                   build localhost/NAME:HASH from DIR/Containerfile on the base
#                                   image unless it is there, and print its tag (see image below)
#        podman.sh env              print the environment podman needs (CONTAINERS_CONF=...)
#        podman.sh podman ARGS...   run podman with that environment (sudo when not root)
#
# Why a configuration of our own (.run/containers/containers.conf, used through CONTAINERS_CONF,
# /etc is never edited): on these machines crun and podman's default ulimits fail, so the runtime
# is runc with the cgroupfs manager and explicit ulimits; events go to a file (no journald needed).
# No registry is reachable, so nothing is ever pulled: the base image is bootstrapped from
# Debian's mirror with mmdebstrap and `podman import`, and every build and run says --pull=never.
#
# The base image is cached: it carries the hash of its recipe as a label, and `base` does nothing
# when an image with that label is there. Change the recipe below and it is rebuilt.
#
# Exit status 3 means "podman cannot run on this machine" (not root and no passwordless sudo, no
# podman and no way to install it, or podman installed but unable to start a container). Suites
# turn it into "server checks not run: <reason>" instead of a failure of the code under test.
# Week 5 (the server, weeks/05-linux/server) uses it; week 6 (containers) reuses it.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN_DIR=$(realpath -m "${TASKD_RUN_DIR:-$REPO_ROOT/.run}")
CONF_DIR="$RUN_DIR/containers"
CONF="$CONF_DIR/containers.conf"
REGISTRIES="$CONF_DIR/registries.conf"
NOT_HERE=3

BASE_IMAGE=localhost/taskd-base:bookworm
BASE_SUITE=bookworm
BASE_MIRROR=${TASKD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# The recipe: everything that changes what the base image contains. Its hash is the image's label.
BASE_RECIPE="mmdebstrap --variant=minbase --components=main $BASE_SUITE $BASE_MIRROR; import: CMD /bin/bash"

say() { echo "podman: $*" >&2; }
die() { echo "podman: error: $*" >&2; exit 1; }
not_here() { echo "podman: cannot run here: $*" >&2; exit "$NOT_HERE"; }

# Root runs podman itself; a normal user needs passwordless sudo (rootful podman: the server
# image boots systemd and changes its firewall, which rootless podman on cgroup v1 cannot).
SUDO=()
need_root() {
  [ "$(id -u)" = 0 ] && return 0
  command -v sudo >/dev/null 2>&1 || not_here "not root and no sudo (rootful podman needs root)"
  sudo -n true 2>/dev/null || not_here "not root and sudo asks for a password (rootful podman needs root: run as root or allow sudo)"
  SUDO=(sudo -n)
}

# The packages, installed from Debian when missing (as install-deps.sh does).
ensure_packages() {
  local missing=() cmd pkg
  for pair in podman:podman runc:runc mmdebstrap:mmdebstrap; do
    cmd=${pair%%:*} pkg=${pair#*:}
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("$pkg")
  done
  # Name resolution between containers on a network of their own (Compose's service names,
  # week 6): podman 4.3's CNI backend needs the dnsname plugin for it.
  [ -x /usr/lib/cni/dnsname ] || missing+=(golang-github-containernetworking-plugin-dnsname)
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  command -v apt-get >/dev/null 2>&1 || not_here "${missing[*]} missing and no apt-get to install them"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq || not_here "apt-get update failed: cannot install ${missing[*]}"
  "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    not_here "apt-get install ${missing[*]} failed"
}

write_conf() {
  mkdir -p "$CONF_DIR"
  local tmp
  tmp=$(mktemp "$CONF_DIR/.conf.XXXXXX")
  cat >"$tmp" <<EOF
# Written by shared/scripts/podman.sh; do not edit (it is rewritten). Used through CONTAINERS_CONF.
[containers]
# podman's default ulimits (nofile 1048576) fail on these machines.
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
# crun fails here; runc with the cgroupfs manager works with and without systemd on the host.
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$CONF_DIR/events.log"
EOF
  mv -f "$tmp" "$CONF"
  # No registry is reachable and none is needed: a short name never turns into a pull.
  tmp=$(mktemp "$CONF_DIR/.reg.XXXXXX")
  printf '# Written by shared/scripts/podman.sh: no registries (nothing is pulled).\nunqualified-search-registries = []\nshort-name-mode = "disabled"\n' >"$tmp"
  mv -f "$tmp" "$REGISTRIES"
}

pod() { "${SUDO[@]}" env CONTAINERS_CONF="$CONF" CONTAINERS_REGISTRIES_CONF="$REGISTRIES" podman "$@"; }

setup() {
  need_root
  ensure_packages
  write_conf
}

# check: podman answers and can start a container from the base image when there is one (a
# failure to start says why: cgroups, runtime...). Without a base image, `podman info` has to do.
check() {
  setup
  local out
  out=$(pod info --format '{{.Host.OCIRuntime.Name}}' 2>&1) || not_here "podman info failed: $(echo "$out" | tail -1)"
  [ "$out" = runc ] || not_here "podman uses the runtime '$out', not runc (is CONTAINERS_CONF honoured?)"
  if pod image exists "$BASE_IMAGE"; then
    out=$(pod run --rm --pull=never --network=none "$BASE_IMAGE" true 2>&1) ||
      not_here "podman cannot start a container: $(echo "$out" | tail -1)"
  fi
}

recipe_hash() { printf '%s' "$BASE_RECIPE" | sha256sum | cut -c1-16; }

base() {
  setup
  local want have tar start
  want=$(recipe_hash)
  have=$(pod image inspect --format '{{index .Labels "taskd.recipe"}}' "$BASE_IMAGE" 2>/dev/null || true)
  if [ "$have" = "$want" ]; then
    say "base image $BASE_IMAGE is current (recipe $want)"
    return 0
  fi
  start=$(date +%s)
  say "building $BASE_IMAGE: mmdebstrap --variant=minbase $BASE_SUITE (about half a minute)"
  tar=$(mktemp "$CONF_DIR/rootfs.XXXXXX.tar")
  trap 'rm -f "$tar"' EXIT
  # stdin from /dev/null: mmdebstrap reads a sources list from stdin when it is not a terminal.
  "${SUDO[@]}" mmdebstrap --quiet --variant=minbase --components=main "$BASE_SUITE" "$tar" "$BASE_MIRROR" </dev/null ||
    die "mmdebstrap failed (is $BASE_MIRROR reachable? TASKD_DEBIAN_MIRROR names another mirror)"
  pod import --quiet --change "CMD /bin/bash" --change "LABEL taskd.recipe=$want" "$tar" "$BASE_IMAGE" >/dev/null
  rm -f "$tar"
  trap - EXIT
  say "built $BASE_IMAGE in $(($(date +%s) - start)) s ($(pod image inspect --format '{{.Size}}' "$BASE_IMAGE" | numfmt --to=iec))"
}

# image NAME DIR WHAT [INPUT...]: an image of the lab's own (week 5's server, week 8's update
# host), built FROM the base image with DIR as its context. Its tag is the hash of everything it
# is built from: the base image's id, DIR/Containerfile and each INPUT (a file, or a directory's
# files in a fixed order). Same inputs, same tag: nothing to build, and a changed input is a new
# tag, never a stale image. WHAT says what the build installs, for the wait. Prints the tag.
image() {
  local name=$1 dir=$2 what=$3 base_id hash tag start
  shift 3
  base >&2
  base_id=$(pod image inspect --format '{{.Id}}' "$BASE_IMAGE")
  hash=$({
    echo "$base_id"
    cat "$dir/Containerfile"
    local input
    for input in "$@"; do
      if [ -d "$input" ]; then find "$input" -type f | LC_ALL=C sort | xargs cat; else cat "$input"; fi
    done
  } | sha256sum | cut -c1-16)
  tag="localhost/$name:$hash"
  if pod image exists "$tag"; then
    say "image $tag is current"
  else
    start=$(date +%s)
    say "building $tag ($what)"
    pod build --pull=never --quiet --build-arg "BASE=$BASE_IMAGE" --label "taskd.checkout=$REPO_ROOT" \
      -t "$tag" -f "$dir/Containerfile" "$dir" >/dev/null
    say "built $tag in $(($(date +%s) - start)) s ($(pod image inspect --format '{{.Size}}' "$tag" | numfmt --to=iec))"
  fi
  echo "$tag"
}

case "${1:-}" in
  check) check ;;
  base) base ;;
  image)
    shift
    [ $# -ge 3 ] || { echo "usage: podman.sh image NAME DIR WHAT [INPUT...]" >&2; exit 2; }
    image "$@"
    ;;
  env)
    setup
    printf 'CONTAINERS_CONF=%s\nCONTAINERS_REGISTRIES_CONF=%s\n' "$CONF" "$REGISTRIES"
    ;;
  podman)
    shift
    setup
    pod "$@"
    ;;
  *)
    echo "usage: podman.sh check|base|image NAME DIR WHAT [INPUT...]|env|podman ARGS..." >&2
    exit 2
    ;;
esac
