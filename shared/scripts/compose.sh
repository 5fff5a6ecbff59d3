#!/usr/bin/env bash
# compose.sh — compose/compose.yaml run for real on this machine: Docker Compose (the
# docker-compose package) talking to rootful podman through its Docker-compatible API.
#
# usage: compose.sh check                 can it run here? 0, or the reason and exit 3
#        compose.sh images WEEK           build the images of week WEEK's profile (cached layers)
#        compose.sh image-names WEEK      the names of those images, one per line (make release)
#        compose.sh up WEEK               images, then start the profile and wait until healthy
#        compose.sh down [-v]             stop and remove the containers (-v: the volumes too)
#        compose.sh dc ARGS...            docker-compose ARGS with this checkout's settings
#        compose.sh env                   print what a shell needs to use the stack (DOCKER_HOST...)
#        compose.sh secrets               make compose/secrets/ unless it is there
#
# Why this engine (docs/decisions/0028-compose-engine.md): docker-compose implements the Compose
# file the learner writes for Docker (profiles, depends_on conditions, secrets as files), where
# Debian's podman-compose 1.0.3 ignores the first two. Three things differ from a Docker host:
#   - images are built with `podman build --format docker`, from the build sections of
#     `docker-compose config` (the OCI format podman would use by default has no HEALTHCHECK);
#     nothing is ever pulled: the backing services' images are built from compose/images/;
#   - podman runs a container's healthcheck from a systemd timer, and this machine has no systemd:
#     a "ticker" of ours runs `podman healthcheck run` for every container of the project every
#     2 s while the stack is up (Docker's daemon does this itself);
#   - the project is named per checkout (taskd-<hash>), and its port is a free one, so two
#     checkouts on one machine never share containers, volumes or ports.
# State in .run/compose/: the API socket, the ticker's pid, compose.env (TASKD_PORT, the URL...).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN_DIR=$(realpath -m "${TASKD_RUN_DIR:-$REPO_ROOT/.run}")
DIR="$RUN_DIR/compose"
SOCK="$DIR/podman.sock"
ENV_FILE="$DIR/compose.env"
COMPOSE_FILE="$REPO_ROOT/compose/compose.yaml"
SECRETS_DIR="$REPO_ROOT/compose/secrets"
PODMAN_SH="$REPO_ROOT/shared/scripts/podman.sh"
PROJECT="taskd-$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-8)"
BASE_IMAGE=localhost/taskd-base:bookworm
NOT_HERE=3
UP_TIMEOUT=${COMPOSE_UP_TIMEOUT:-300}

say() { echo "compose: $*" >&2; }
die() { echo "compose: error: $*" >&2; exit 1; }
not_here() { echo "compose: cannot run here: $*" >&2; exit "$NOT_HERE"; }

# podman with the project's configuration (podman.sh env), asked for once: the ticker calls it
# every 2 s per container.
PODMAN=()
pod() {
  if [ ${#PODMAN[@]} -eq 0 ]; then
    local env
    env=$(bash "$PODMAN_SH" env | tr '\n' ' ')
    [ "$(id -u)" = 0 ] || PODMAN=(sudo -n)
    # shellcheck disable=SC2206 # KEY=VALUE words of podman.sh env, paths without spaces
    PODMAN+=(env $env podman)
  fi
  "${PODMAN[@]}" "$@"
}

check() {
  local rc=0
  bash "$PODMAN_SH" check || rc=$?
  [ "$rc" = 0 ] || exit "$rc"
  if ! command -v docker-compose >/dev/null 2>&1; then
    say "installing docker-compose"
    command -v apt-get >/dev/null 2>&1 || not_here "docker-compose missing and no apt-get to install it"
    local sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo -n)
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends docker-compose >/dev/null ||
      not_here "apt-get install docker-compose failed"
  fi
}

# The settings every docker-compose call gets (the environment wins over compose/.env).
compose_env() { # WEEK
  local port
  port=$(saved TASKD_PORT)
  [ -n "$port" ] || port=$(free_port)
  cat <<EOF
COMPOSE_PROJECT_NAME=$PROJECT
COMPOSE_PROFILES=week$1
DOCKER_HOST=unix://$SOCK
BASE_IMAGE=$BASE_IMAGE
POSTGRES_IMAGE=localhost/taskd-postgres:15
REDIS_IMAGE=localhost/taskd-redis:7
MEMCACHED_IMAGE=localhost/taskd-memcached:1.6
TASKD_PORT=$port
REGISTER_IP_MAX_ATTEMPTS=${REGISTER_IP_MAX_ATTEMPTS:-20}
COMPOSE_WEEK=$1
TASKD_URL=http://127.0.0.1:$port
EOF
}

saved() { if [ -f "$ENV_FILE" ]; then sed -n "s/^$1=//p" "$ENV_FILE" | tail -1; fi; }

# free_port: shared/scripts/ports.sh. (A port the kernel hands out for bind(0) is in the
# ephemeral range, where a busy machine's outgoing connections can take it before podman binds.)
# shellcheck source=shared/scripts/ports.sh
. "$REPO_ROOT/shared/scripts/ports.sh"

dc() {
  # Before any `up` (make compose-config first, say): the newest week's settings.
  [ -f "$ENV_FILE" ] || configure "${COMPOSE_WEEK:-6}"
  (
    set -a
    # shellcheck disable=SC1090 # written by compose.sh up
    . "$ENV_FILE"
    set +a
    exec docker-compose --project-directory "$REPO_ROOT/compose" -f "$COMPOSE_FILE" "$@"
  )
}

# ---- the Docker API: `podman system service` on a socket of this checkout ----
api_up() {
  mkdir -p "$DIR"
  if [ -S "$SOCK" ] && curl -s --unix-socket "$SOCK" -o /dev/null -m 3 http://d/_ping; then
    return 0
  fi
  rm -f "$SOCK"
  pod version >/dev/null
  # Detached from this shell: it serves until `down` stops it (--time=0: no idle exit).
  (exec setsid "${PODMAN[@]}" system service --time=0 "unix://$SOCK" >"$DIR/api.log" 2>&1 </dev/null) &
  echo $! >"$DIR/api.pid"
  local _
  for _ in $(seq 1 50); do
    curl -s --unix-socket "$SOCK" -o /dev/null -m 2 http://d/_ping && return 0
    sleep 0.2
  done
  die "podman's API did not answer on $SOCK (see $DIR/api.log)"
}

# ---- healthchecks without systemd: the ticker ----
ticker_up() {
  local pid
  pid=$(cat "$DIR/ticker.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then return 0; fi
  (
    exec </dev/null >"$DIR/ticker.log" 2>&1
    while [ -S "$SOCK" ]; do
      for c in $(pod ps -q --filter "label=com.docker.compose.project=$PROJECT" 2>/dev/null); do
        # Exit 1 is "unhealthy" (recorded by podman), 125 "no healthcheck": both are fine here.
        pod healthcheck run "$c" >/dev/null 2>&1 || true
      done
      sleep 2
    done
  ) &
  echo $! >"$DIR/ticker.pid"
}

stop_pidfile() {
  local pid
  pid=$(cat "$1" 2>/dev/null || true)
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  rm -f "$1"
}

# ---- images ----
secrets() { bash "$REPO_ROOT/compose/make-secrets.sh" "$SECRETS_DIR" >&2; }

# Every service of the profile that has a build section: NAME<TAB>IMAGE<TAB>TARGET<TAB>WEEK.
build_plan() { # WEEK
  local COMPOSE_WEEK=$1
  local y2j="$REPO_ROOT/${BUILD:-build}/tools/yaml2json" cfg
  [ -x "$y2j" ] || make -C "$REPO_ROOT" -s "${BUILD:-build}/tools/yaml2json" >&2
  cfg=$(mktemp "$DIR/config.XXXXXX.yaml")
  dc config >"$cfg" || { rm -f "$cfg"; die "docker-compose config refused compose/compose.yaml (see above)"; }
  # docker-compose 1.29's config lists every service whatever COMPOSE_PROFILES says: the
  # profile is applied here (a service without profiles belongs to every one).
  "$y2j" "$cfg" | jq -r --arg p "week$COMPOSE_WEEK" '.services | to_entries[]
    | select(.value.build and ((.value.profiles // []) as $ps | ($ps | length) == 0 or ($ps | index($p))))
    | [.key, .value.image, (.value.build.target // ""), (.value.build.args.WEEK // "")] | @tsv'
  rm -f "$cfg"
}

# The backing services' images, from Debian's packages (compose/images/NAME): localhost/taskd-NAME
# at the tag compose_env names for it.
build_service_images() {
  local spec
  for spec in postgres:15 redis:7 memcached:1.6; do
    pod build --quiet --pull=never --format docker --build-arg "BASE=$BASE_IMAGE" \
      -t "localhost/taskd-$spec" "$REPO_ROOT/compose/images/${spec%%:*}" >/dev/null ||
      die "podman build of localhost/taskd-$spec failed"
  done
}

images() { # WEEK
  local week=$1 start name image target wk args version
  start=$(date +%s)
  version=$(bash "$REPO_ROOT/shared/scripts/version.sh" "$REPO_ROOT")
  configure "$week"
  bash "$PODMAN_SH" base
  say "building the backing services' images from Debian's packages (compose/images/)"
  build_service_images
  local plan
  plan=$(build_plan "$week")
  [ -n "$plan" ] || die "the week-$week profile has no service to build (compose.yaml's profiles?)"
  while IFS=$'\t' read -r name image target wk; do
    args=(--build-arg "BASE=$BASE_IMAGE" --build-arg "TASKD_VERSION=$version")
    [ -z "$wk" ] || args+=(--build-arg "WEEK=$wk")
    say "building $image (service $name: compose/Dockerfile, target $target)"
    pod build --quiet --pull=never --format docker -f "$REPO_ROOT/compose/Dockerfile" \
      --target "$target" "${args[@]}" -t "$image" "$REPO_ROOT" >/dev/null ||
      die "podman build of $image failed (run it again without --quiet to see why)"
  done <<<"$plan"
  say "images of week $week ready in $(($(date +%s) - start)) s"
}

configure() { # WEEK
  mkdir -p "$DIR"
  local tmp
  tmp=$(mktemp "$DIR/.env.XXXXXX")
  compose_env "$1" >"$tmp"
  mv -f "$tmp" "$ENV_FILE"
}

# Waits until every container of the project is healthy (or has no healthcheck and runs).
wait_healthy() {
  local deadline=$((SECONDS + UP_TIMEOUT)) bad
  while [ $SECONDS -lt $deadline ]; do
    bad=$(pod ps -a --filter "label=com.docker.compose.project=$PROJECT" \
      --format '{{.Names}} {{.Status}}' | grep -v '(healthy)' || true)
    [ -z "$bad" ] && return 0
    sleep 2
  done
  say "not healthy after ${UP_TIMEOUT} s:"
  echo "$bad" >&2
  return 1
}

up() { # WEEK
  local week=$1
  check
  secrets
  images "$week"
  api_up
  ticker_up
  say "starting the week-$week stack (project $PROJECT)"
  dc up -d --no-build
  wait_healthy || { dc ps >&2; die "the stack did not become healthy (make compose-logs)"; }
  say "up: taskd on $(saved TASKD_URL) (make compose-down stops it; compose.sh env for a shell)"
}

down() {
  if [ -f "$ENV_FILE" ]; then
    api_up
    dc down --remove-orphans "$@" || true
  fi
  stop_pidfile "$DIR/ticker.pid"
  stop_pidfile "$DIR/api.pid"
  rm -f "$SOCK"
}

case "${1:-}" in
  check) check ;;
  images) images "${2:?usage: compose.sh images WEEK}" ;;
  image-names)
    configure "${2:?usage: compose.sh image-names WEEK}"
    build_plan "$2" | cut -f2 | sort -u
    ;;
  up) up "${2:?usage: compose.sh up WEEK}" ;;
  down)
    shift
    down "$@"
    ;;
  dc)
    shift
    api_up
    dc "$@"
    ;;
  env) cat "$ENV_FILE" ;;
  secrets) secrets ;;
  *)
    sed -n '4,11p' "$0" >&2
    exit 2
    ;;
esac
