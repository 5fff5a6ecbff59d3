#!/usr/bin/env bash
# server.sh — week 5's "server": a Debian machine with systemd as PID 1, in a rootful podman
# container on this machine, reached like a rented VM: over SSH on a published loopback port.
#
# usage: server.sh image        build the server image unless it is current (cached by its inputs)
#        server.sh up           boot it; write .run/server/server.env; wait for systemd and sshd
#        server.sh down         remove it (nothing of it is kept)
#        server.sh ssh [CMD...] log in as the administrator, or run CMD there
#        server.sh status       is it up, its ports, what systemd says
#        server.sh provision    run provision.yml with Ansible (inventory made from server.env)
#
# The ports are published on 127.0.0.1 only, each a free port chosen at start: SSH (22), the public
# HTTP port (80) and, so that the firewall test can show them closed, taskd's own port (8080),
# PostgreSQL (5432) and Redis (6379). Everyone reads them from .run/server/server.env:
#   SERVER_NAME SERVER_USER SERVER_SSH_KEY SERVER_SSH_PORT SERVER_HTTP_PORT SERVER_APP_PORT
#   SERVER_PG_PORT SERVER_REDIS_PORT SERVER_BLOCKED_PORTS SERVER_KNOWN_HOSTS SERVER_SSH_OPTS
# Nothing here addresses the container's bridge IP: the published ports or `podman exec` only.
#
# The container is named per checkout (taskd-server-<hash of the checkout's path>), so two
# checkouts on one machine each have their own. Exit status 3: podman cannot run here (podman.sh
# says why).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$HERE/../../.." && pwd)
RUN_DIR=$(realpath -m "${TASKD_RUN_DIR:-$REPO_ROOT/.run}")
SRV_DIR="$RUN_DIR/server"
ENV_FILE="$SRV_DIR/server.env"
KEY="$SRV_DIR/id_ed25519"
KNOWN_HOSTS="$SRV_DIR/known_hosts"
PODMAN_SH="$REPO_ROOT/shared/scripts/podman.sh"
NAME="taskd-server-$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-10)"
SERVER_USER=deploy
BOOT_TIMEOUT=${SERVER_BOOT_TIMEOUT:-180}

say() { echo "server: $*" >&2; }
die() { echo "server: error: $*" >&2; exit 1; }

pod() { bash "$PODMAN_SH" podman "$@"; }

# The image: shared/scripts/podman.sh builds it on the base image unless an image with the same
# inputs is there (its tag is their hash: the Containerfile and the files it copies).
image() {
  bash "$PODMAN_SH" image taskd-server "$HERE" "apt-get inside: systemd, openssh-server, nftables, python3, sudo" "$HERE/image"
}

# free_port: shared/scripts/ports.sh (below the ephemeral range, which busy tests fill with
# connections and TIME_WAIT sockets a -p publish cannot bind).
# shellcheck source=shared/scripts/ports.sh
. "$REPO_ROOT/shared/scripts/ports.sh"

ssh_opts() {
  echo "-i $KEY -o IdentitiesOnly=yes -o UserKnownHostsFile=$KNOWN_HOSTS -o StrictHostKeyChecking=yes -o ConnectTimeout=10 -o BatchMode=yes -o LogLevel=ERROR"
}

running() { [ "$(pod inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ]; }

up() {
  local tag start ssh http app pg redis state
  start=$(date +%s)
  need_cmd ssh openssh-client
  tag=$(image)
  mkdir -p "$SRV_DIR"
  [ -s "$KEY" ] || ssh-keygen -q -t ed25519 -N '' -C "taskd-admin@$(hostname)" -f "$KEY"
  if running && [ -s "$ENV_FILE" ] && [ "$(pod inspect --format '{{.ImageName}}' "$NAME")" = "$tag" ]; then
    say "$NAME is already up (make server-down to start afresh)"
    return 0
  fi
  pod rm -f -t 5 "$NAME" >/dev/null 2>&1 || true
  rm -f "$ENV_FILE"
  # A port can still be taken between free_port and podman's bind: then new ports, three tries.
  local try err
  for try in 1 2 3; do
    ssh=$(free_port) http=$(free_port) app=$(free_port) pg=$(free_port) redis=$(free_port)
    say "starting $NAME: ssh 127.0.0.1:$ssh, http 127.0.0.1:$http (and 8080, 5432, 6379 on $app, $pg, $redis)"
    # --systemd=always: systemd as PID 1 (podman mounts /run, /tmp and the cgroup tree for it).
    # NET_ADMIN: the server's own nftables firewall, in its own network namespace only.
    if err=$(pod run -d --pull=never --name "$NAME" --hostname taskd-server --systemd=always \
      --cap-add NET_ADMIN \
      -p "127.0.0.1:$ssh:22" -p "127.0.0.1:$http:80" -p "127.0.0.1:$app:8080" \
      -p "127.0.0.1:$pg:5432" -p "127.0.0.1:$redis:6379" \
      -v "$KEY.pub:/etc/ssh/authorized_keys/$SERVER_USER:ro" \
      "$tag" 2>&1 >/dev/null); then
      break
    fi
    pod rm -f -t 5 "$NAME" >/dev/null 2>&1 || true
    [ "$try" -lt 3 ] || die "podman could not start $NAME: $err"
    say "podman could not start $NAME (try $try of 3): $err"
  done

  # systemd first: running (or degraded: a unit failed, which status shows) within the bound.
  # Right after the start, exec may find no systemd to ask yet (no bus): then it asks again.
  local deadline=$(($(date +%s) + BOOT_TIMEOUT))
  state=""
  while [ "$(date +%s)" -lt "$deadline" ]; do
    state=$(timeout "$BOOT_TIMEOUT" bash "$PODMAN_SH" podman exec "$NAME" systemctl is-system-running --wait 2>/dev/null || true)
    case "$state" in
      running | degraded) break ;;
    esac
    running || die "$NAME stopped while booting: bash $PODMAN_SH podman logs $NAME"
    sleep 1
  done
  case "$state" in
    running | degraded) ;;
    *) die "systemd in $NAME did not finish booting within $BOOT_TIMEOUT s (state '${state:-none}'); see: make server-status" ;;
  esac
  # The host key this server made at boot is the one we trust (no trust-on-first-use prompt).
  for _ in $(seq 1 30); do
    if pod exec "$NAME" test -s /etc/ssh/ssh_host_ed25519_key.pub; then break; fi
    sleep 1
  done
  pod exec "$NAME" cat /etc/ssh/ssh_host_ed25519_key.pub | awk -v p="$ssh" '{ print "[127.0.0.1]:" p, $1, $2 }' >"$KNOWN_HOSTS"
  write_env "$ssh" "$http" "$app" "$pg" "$redis"
  for _ in $(seq 1 60); do
    # shellcheck disable=SC2046 # the options are words
    if ssh -n $(ssh_opts) -p "$ssh" "$SERVER_USER@127.0.0.1" true 2>/dev/null; then
      say "$NAME is up: systemd $state, sshd answers ($(($(date +%s) - start)) s). make server-ssh logs in"
      return 0
    fi
    sleep 1
  done
  die "sshd in $NAME does not answer on 127.0.0.1:$ssh after 60 s"
}

write_env() {
  local tmp
  tmp=$(mktemp "$SRV_DIR/.server.env.XXXXXX")
  cat >"$tmp" <<EOF
# Written by weeks/05-linux/server/server.sh up; do not edit (it is rewritten).
# Load it with: set -a; . ${ENV_FILE#"$REPO_ROOT"/}; set +a
SERVER_NAME=$NAME
SERVER_USER=$SERVER_USER
SERVER_SSH_KEY=$KEY
SERVER_KNOWN_HOSTS=$KNOWN_HOSTS
SERVER_SSH_PORT=$1
SERVER_HTTP_PORT=$2
SERVER_APP_PORT=$3
SERVER_PG_PORT=$4
SERVER_REDIS_PORT=$5
SERVER_BLOCKED_PORTS="$3 $4 $5"
SERVER_SSH_OPTS="$(ssh_opts) -p $1"
EOF
  mv -f "$tmp" "$ENV_FILE"
}

load_env() {
  [ -s "$ENV_FILE" ] || die "no server is up here (make server-up)"
  # shellcheck disable=SC1090
  . "$ENV_FILE"
}

down() {
  if pod container exists "$NAME"; then
    pod rm -f -t 10 "$NAME" >/dev/null
    say "removed $NAME"
  else
    say "no server $NAME"
  fi
  rm -f "$ENV_FILE" "$KNOWN_HOSTS" "$SRV_DIR/inventory.ini"
}

ssh_cmd() {
  load_env
  # shellcheck disable=SC2086 # SERVER_SSH_OPTS is a list of words
  exec ssh $SERVER_SSH_OPTS "$SERVER_USER@127.0.0.1" "$@"
}

status() {
  if ! running; then
    echo "server $NAME: not running"
    return 0
  fi
  load_env
  echo "server $NAME: up; ssh 127.0.0.1:$SERVER_SSH_PORT, http 127.0.0.1:$SERVER_HTTP_PORT" \
    "(8080/5432/6379 published on $SERVER_BLOCKED_PORTS, closed by the firewall once provisioned)"
  echo "systemd: $(pod exec "$NAME" systemctl is-system-running 2>/dev/null || true)"
  pod exec "$NAME" systemctl --no-pager --failed --no-legend || true
}

# need_cmd COMMAND PACKAGE: install PACKAGE from Debian when COMMAND is missing on this machine.
need_cmd() {
  command -v "$1" >/dev/null 2>&1 && return 0
  say "installing $2 (for $1)"
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$2" >/dev/null; }; then
    die "could not install $2: install it by hand"
  fi
}

provision() {
  load_env
  need_cmd ansible-playbook ansible
  cat >"$SRV_DIR/inventory.ini" <<EOF
# Written by server.sh provision from server.env: the one server, over its published SSH port.
[taskd]
server ansible_host=127.0.0.1 ansible_port=$SERVER_SSH_PORT ansible_user=$SERVER_USER ansible_ssh_private_key_file=$SERVER_SSH_KEY ansible_ssh_common_args='-o UserKnownHostsFile=$SERVER_KNOWN_HOSTS -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes'
EOF
  ANSIBLE_CONFIG="$HERE/ansible.cfg" ansible-playbook -i "$SRV_DIR/inventory.ini" "$HERE/provision.yml" "$@"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  image) image >/dev/null ;;
  up) up ;;
  down) down ;;
  ssh) ssh_cmd "$@" ;;
  status) status ;;
  provision) provision "$@" ;;
  *)
    echo "usage: server.sh image|up|down|ssh [CMD...]|status|provision" >&2
    exit 2
    ;;
esac
