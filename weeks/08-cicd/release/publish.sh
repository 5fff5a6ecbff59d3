#!/usr/bin/env bash
# publish.sh — `make publish`: push a release's images to a registry, exactly as released. The
# archives are checked against the release's SHA256SUMS first, then loaded and pushed, so what the
# registry serves is what the checksums describe, not whatever the local image store holds now.
#
# usage: publish.sh RELEASE_DIR
# Environment:
#   REGISTRY           where to push, host[:port][/namespace] (ghcr.io/OWNER, registry.gitlab.com/
#                      GROUP/PROJECT). Unset: the local registry of shared/scripts/services.sh
#                      (started here when it is not running), over plain HTTP on loopback.
#   REGISTRY_USER, REGISTRY_PASSWORD  the login for a remote registry (a pipeline takes them from
#                      its secret store: GitHub's GITHUB_TOKEN, GitLab's CI_JOB_TOKEN)
# For each image it prints where it went, then asks the registry's API which tags it now has.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
[ $# -eq 1 ] || { echo "usage: publish.sh RELEASE_DIR" >&2; exit 2; }
dir=$1
say() { echo "publish: $*"; }
die() { echo "publish: error: $*" >&2; exit 1; }
pod() { bash "$repo/shared/scripts/podman.sh" podman "$@"; }

[ -f "$dir/SHA256SUMS" ] || die "$dir is not a release (no SHA256SUMS): make release"
(cd "$dir" && sha256sum --quiet -c SHA256SUMS) || die "$dir does not match its SHA256SUMS: not publishing it"
shopt -s nullglob
archives=("$dir"/images/*.tar "$dir"/images/*.tar.gz)
[ ${#archives[@]} -gt 0 ] || die "$dir has no images (released with RELEASE_IMAGES=0?)"

tls=()
registry=${REGISTRY:-}
if [ -z "$registry" ]; then
  bash "$repo/shared/scripts/services.sh" up registry >/dev/null
  registry=$(sed -n 's/^REGISTRY=//p' "$repo/.run/services.env")
  [ -n "$registry" ] || die "the local registry did not start (shared/scripts/services.sh up registry)"
fi
case $registry in
  127.0.0.1:* | localhost:*) tls=(--tls-verify=false) ;; # our own, plain HTTP on loopback
  *)
    if [ -n "${REGISTRY_USER:-}" ]; then
      printf '%s' "${REGISTRY_PASSWORD:?REGISTRY_USER is set, REGISTRY_PASSWORD is not}" |
        pod login --username "$REGISTRY_USER" --password-stdin "${registry%%/*}" >/dev/null
    fi
    ;;
esac

# load ARCHIVE: podman load, which (4.3) reads a gzipped archive only through a pipe.
load() {
  case $1 in
    *.gz) gzip -dc "$1" | pod load -q ;;
    *) pod load -q -i "$1" ;;
  esac
}
pushed=()
for archive in "${archives[@]}"; do
  while IFS= read -r loaded; do
    # localhost/NAME:TAG -> REGISTRY/NAME:TAG
    target="$registry/${loaded#localhost/}"
    pod push --quiet "${tls[@]}" "$loaded" "docker://$target"
    say "$loaded -> $target"
    pushed+=("${loaded#localhost/}")
  done < <(load "$archive" | sed -n 's/^Loaded image[^:]*: //p' | tr ',' '\n' | sed 's/^ *//')
done
[ ${#pushed[@]} -gt 0 ] || die "podman load named no image in ${archives[*]}"

# The registry's own answer (the local one; a remote one needs its token for this).
if [ ${#tls[@]} -gt 0 ]; then
  for image in "${pushed[@]}"; do
    say "$registry has ${image%:*}: $(curl -fsS "http://$registry/v2/${image%:*}/tags/list" | jq -c .tags)"
  done
fi
