#!/usr/bin/env bash
# updatehost.sh — week 8's update host: systemd and podman in a container, where the service runs
# as a container under a systemd unit and `podman auto-update` pulls a moved tag and restarts
# into it, rolling back when the new container does not start. It is reached with `podman exec`
# (nothing listens for it but the service itself, on the host's loopback).
#
# usage: updatehost.sh image          build localhost/taskd-updatehost:HASH unless it is current
#        updatehost.sh up REGISTRY    boot it, trusting REGISTRY (127.0.0.1:PORT, plain HTTP)
#        updatehost.sh down           remove it (its image store, under .run/, stays for next time)
#        updatehost.sh exec CMD...    run CMD inside, as root (podman there is the host's own)
#        updatehost.sh status         is it up, and systemd's view
# Where podman cannot run here, shared/scripts/podman.sh says why and exits 3.
#
# Why a container and not this machine: `podman auto-update` restarts the systemd unit of each
# container it updates, and this machine has no systemd (its PID 1 is not systemd). The update
# host runs --privileged (its podman makes containers: namespaces, cgroups, mounts) and on the
# host's network (its containers bind the host's loopback; the registry is there too).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$HERE/../../.." && pwd)
PODMAN_SH="$REPO_ROOT/shared/scripts/podman.sh"
RUN_DIR=$(realpath -m "${TASKD_RUN_DIR:-$REPO_ROOT/.run}")
DIR="$RUN_DIR/updatehost"
# One per checkout: two clones on one machine never share it.
NAME="taskd-updatehost-$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-10)"

say() { echo "updatehost: $*" >&2; }
die() { echo "updatehost: error: $*" >&2; exit 1; }
pod() { bash "$PODMAN_SH" podman "$@"; }

# The image: shared/scripts/podman.sh builds it on the base image unless an image with the same
# inputs is there (its tag is their hash: the Containerfile and containers.conf).
image() {
  bash "$PODMAN_SH" image taskd-updatehost "$HERE" "apt-get inside: systemd, podman, runc" "$HERE/containers.conf"
}

running() { [ "$(pod inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ]; }

up() {
  local registry=$1 tag start
  [[ $registry =~ ^(127\.0\.0\.1|localhost):[0-9]+$ ]] || die "up REGISTRY: a loopback registry, 127.0.0.1:PORT (got '$registry')"
  bash "$PODMAN_SH" check >/dev/null || exit $?
  start=$(date +%s)
  tag=$(image)
  if running && [ "$(pod inspect --format '{{.ImageName}}' "$NAME")" = "$tag" ]; then
    say "$NAME is already up"
  else
    pod rm -f -t 5 "$NAME" >/dev/null 2>&1 || true
    mkdir -p "$DIR/storage"
    pod run -d --pull=never --name "$NAME" --hostname taskd-updatehost --systemd=always \
      --privileged --network host -v "$DIR/storage:/var/lib/containers" "$tag" >/dev/null ||
      die "podman run $tag failed"
    local state=""
    for _ in $(seq 1 60); do
      state=$(pod exec "$NAME" systemctl is-system-running 2>/dev/null || true)
      case $state in running | degraded) break ;; esac
      sleep 1
    done
    case $state in
      running | degraded) ;;
      *) pod logs --tail 20 "$NAME" >&2 || true; die "systemd in $NAME did not come up (state: ${state:-none})" ;;
    esac
  fi
  # The registry: plain HTTP on loopback, which podman only uses when told it is insecure.
  pod exec -i "$NAME" sh -c 'mkdir -p /etc/containers/registries.conf.d && cat >/etc/containers/registries.conf.d/taskd.conf' <<EOF
# Written by updatehost.sh up: the lab's local registry (shared/scripts/services.sh), plain HTTP.
[[registry]]
location = "$registry"
insecure = true
EOF
  say "$NAME up in $(($(date +%s) - start)) s: systemd $(pod exec "$NAME" systemctl is-system-running 2>/dev/null || true), registry $registry"
}

down() {
  pod rm -f -t 10 "$NAME" >/dev/null 2>&1 || true
  say "$NAME removed (its image store stays in $DIR/storage)"
}

case ${1:-} in
  image) image >/dev/null ;;
  up) up "${2:?usage: updatehost.sh up REGISTRY}" ;;
  down) down ;;
  exec)
    shift
    running || die "$NAME is not up (updatehost.sh up REGISTRY)"
    pod exec -i "$NAME" "$@"
    ;;
  status)
    if running; then echo "$NAME: up, systemd $(pod exec "$NAME" systemctl is-system-running 2>/dev/null || true)"; else echo "$NAME: down"; fi
    ;;
  *) echo "usage: updatehost.sh image | up REGISTRY | down | exec CMD... | status" >&2; exit 2 ;;
esac
