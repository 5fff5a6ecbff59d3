#!/usr/bin/env bash
# test-autoupdate.sh — `make test-autoupdate`: pull-based updates with `podman auto-update`, for
# real, on week 8's update host (updatehost.sh: systemd and podman in a container).
#
# usage: test-autoupdate.sh LOADCHECK WEEK
#   WEEK: the stage whose taskd image is updated (localhost/taskd:weekWEEK, built if missing)
# The steps, each checked:
#   1. three images from that one: v1, v2 (another label, so another digest) and "broken" (its
#      entrypoint exits 1 before taskd starts); v1 is pushed to the local registry as :live;
#   2. on the update host: the container is created with the label io.containers.autoupdate=registry
#      and --sdnotify=container (systemd's start waits for taskd's own READY=1, week 5), and run
#      under the unit `podman generate systemd --new` writes; it serves on the host's loopback;
#   3. v2 is pushed as :live; `podman auto-update` pulls it and restarts the unit: v2 serves;
#   4. broken is pushed as :live; `podman auto-update` pulls it, the restart fails, and it rolls
#      back: v2 serves again.
# A load (loadcheck) runs through steps 3 and 4 and counts the requests that failed while the
# container was replaced: a pull-based update restarts in place, and the lesson quotes the figure
# (it is reported, not required to be zero: that is the point of comparing it with blue/green).
# The update host stays up for the next run (SERVER_KEEP has no say here); make update-host-down
# removes it. Prints one line per check and a summary, and grades them (shared/scripts/checks.sh:
# build/results/week-8/autoupdate.json, 7 checks, 12 points); exit status 1 when any check failed.
set -uo pipefail
loadcheck=$1 week=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cd "$repo" || exit 2
host=(bash "$here/updatehost.sh")
scratch=$(mktemp -d)
load="" note=""
# shellcheck source=shared/scripts/checks.sh
. "$repo/shared/scripts/checks.sh"
checks_begin week-8 autoupdate \
  images::v1_v2_and_broken_are_built_and_v1_pushed:1 host::the_update_host_runs:1 \
  unit::the_generated_unit_starts_once_taskd_is_ready:2 unit::the_unit_is_type_notify_with_sdnotify_container:1 \
  unit::v1_serves:1 update::a_moved_tag_is_pulled_and_served:3 update::a_broken_image_is_rolled_back:3
pod() { bash shared/scripts/podman.sh podman "$@"; }
inside() { "${host[@]}" exec "$@"; }
# shellcheck disable=SC2317 # run by the trap
finish() {
  local status
  [ -z "$load" ] || { touch "$scratch/stop"; wait "$load" 2>/dev/null; }
  checks_end "$note"
  status=$?
  inside systemctl stop container-taskd-auto.service >/dev/null 2>&1 || true
  [ -z "${db:-}" ] || bash shared/scripts/services.sh drop-db "${db##*/}" >/dev/null 2>&1 || true
  rm -rf "$scratch"
  exit "$status"
}
trap finish EXIT
# summary [NOTE]: the end (the EXIT trap grades; a step that could not go on ends here).
summary() {
  note=${1:-}
  exit
}

# ---- podman, the services, the registry ----
out=$(bash shared/scripts/podman.sh check 2>&1)
case $? in
  0) ;;
  *) check_bad images::v1_v2_and_broken_are_built_and_v1_pushed "auto-update checks not run: $(echo "$out" | sed -n 's/^podman: cannot run here: //p' | tail -1)" "$out"; summary ;;
esac
bash shared/scripts/services.sh up postgres redis memcached registry >/dev/null || { check_bad images::v1_v2_and_broken_are_built_and_v1_pushed "the services did not start"; summary; }
set -a
# shellcheck disable=SC1091 # written by services.sh up
. .run/services.env
set +a
db=$(bash shared/scripts/services.sh fresh-db) || { check_bad images::v1_v2_and_broken_are_built_and_v1_pushed "no fresh database"; summary; }

# ---- 1. the images ----
echo "test-autoupdate: the images (from localhost/taskd:week$week) and the registry $REGISTRY"
base="localhost/taskd:week$week"
pod image exists "$base" || BUILD=${BUILD:-build} bash shared/scripts/compose.sh images "$week" >/dev/null ||
  { check_bad images::v1_v2_and_broken_are_built_and_v1_pushed "building $base failed"; summary; }
variant() { # variant NAME [ENTRYPOINT-LINE]
  printf 'FROM %s\nLABEL taskd.autoupdate.test=%s\n%s\n' "$base" "$1" "${2:-}" >"$scratch/Containerfile.$1"
  pod build --pull=never --quiet -f "$scratch/Containerfile.$1" -t "localhost/taskd-autoupdate:$1" "$scratch" >/dev/null
}
push() { pod push --quiet --tls-verify=false "localhost/taskd-autoupdate:$1" "docker://$REGISTRY/taskd-autoupdate:live"; }
if variant v1 && variant v2 &&
  variant broken 'ENTRYPOINT ["/bin/sh", "-c", "echo this release is broken on purpose >&2; exit 1"]' && push v1; then
  check_ok images::v1_v2_and_broken_are_built_and_v1_pushed "1. v1, v2 and broken built; v1 pushed as $REGISTRY/taskd-autoupdate:live"
else
  check_bad images::v1_v2_and_broken_are_built_and_v1_pushed "1. the images"
  summary
fi

# ---- 2. the service under systemd on the update host ----
if ! out=$("${host[@]}" up "$REGISTRY" 2>&1); then
  check_bad host::the_update_host_runs "2. the update host" "$out"
  summary
fi
check_ok host::the_update_host_runs "2. the update host runs systemd and podman"
. shared/scripts/ports.sh
port=$(free_port)
secret=$(head -c 32 /dev/urandom | base64 | tr -d '\n')
inside sh -c 'umask 077 && cat >/etc/taskd-auto.env' <<EOF
PORT=$port
BIND_ADDRESS=127.0.0.1
DATABASE_URL=$db
AUTO_MIGRATE=1
REDIS_URL=$REDIS_URL
CACHE_BACKEND=redis
MEMCACHED_URL=$MEMCACHED_URL
JWT_SECRET=$secret
HTTP_DRAIN_SECONDS=2
EOF
# shellcheck disable=SC2016 # expanded inside the update host
if out=$(inside sh -c '
  set -e
  podman rm -f taskd-auto >/dev/null 2>&1 || true
  podman pull -q "$0/taskd-autoupdate:live" >/dev/null
  # --cgroupns=private: nested in the update host on cgroup v1, runc cannot mount the host view
  # of /sys/fs/cgroup into a container ("stat /sys/fs/cgroup/libpod-...: no such file"); in a
  # namespace of its own, the cgroup of the container is its root. (The cgroupns setting of
  # containers.conf is not applied there by podman 4.3: it has to be the flag.)
  podman create -q --name taskd-auto --network host --cgroupns=private --sdnotify=container \
    --env-file /etc/taskd-auto.env \
    --label io.containers.autoupdate=registry "$0/taskd-autoupdate:live" >/dev/null
  podman generate systemd --new --name taskd-auto >/etc/systemd/system/container-taskd-auto.service
  podman rm taskd-auto >/dev/null
  systemctl daemon-reload
  systemctl start container-taskd-auto.service' "$REGISTRY" 2>&1); then
  check_ok unit::the_generated_unit_starts_once_taskd_is_ready "2. the unit podman generate systemd --new wrote is started (systemd waited for taskd's READY=1)"
else
  check_bad unit::the_generated_unit_starts_once_taskd_is_ready "2. the unit" "$out
$(inside journalctl -u container-taskd-auto.service -n 20 --no-pager -o cat 2>&1)"
  summary
fi
# The unit waits for taskd itself: Type=notify, and podman hands the container the notify socket.
unit_shape=$(inside sh -c 'systemctl show -p Type --value container-taskd-auto.service;
  grep -c -- "--sdnotify=container" /etc/systemd/system/container-taskd-auto.service' 2>&1 | tr '\n' ' ')
if [ "$unit_shape" = "notify 1 " ]; then
  check_ok unit::the_unit_is_type_notify_with_sdnotify_container "   the unit is Type=notify and runs podman with --sdnotify=container"
else
  check_bad unit::the_unit_is_type_notify_with_sdnotify_container "   the unit is Type=notify and runs podman with --sdnotify=container" "got: $unit_shape"
fi
running_label() { inside podman inspect --format '{{index .Config.Labels "taskd.autoupdate.test"}}' taskd-auto 2>/dev/null; }
serving() { [ "$(curl -s -o /dev/null -m 3 -w '%{http_code}' "http://127.0.0.1:$port/ready")" = 200 ]; }
wait_serving() { for _ in $(seq 1 60); do serving && return 0; sleep 0.5; done; return 1; }
if wait_serving && [ "$(running_label)" = v1 ]; then check_ok unit::v1_serves "   v1 serves on 127.0.0.1:$port"; else check_bad unit::v1_serves "   v1 serves on 127.0.0.1:$port" "label: $(running_label)"; fi

# ---- 3 and 4, under load ----
"$loadcheck" "http://127.0.0.1:$port/ready" --clients 2 --rate 50 --seconds 600 --stop-file "$scratch/stop" >"$scratch/load.out" 2>&1 &
load=$!
sleep 1
# auto_update NAME IMAGE WANT WHAT: push IMAGE as :live, run podman auto-update, and expect its
# "Updated" to say WANT and v2 to serve afterwards; prints the milliseconds it took.
auto_update() {
  local name=$1 image=$2 want=$3 what=$4 out t ms
  push "$image" || { check_bad "$name" "$what: pushing $image"; return; }
  t=$(date +%s%N)
  out=$(inside podman auto-update --format json 2>&1)
  ms=$((($(date +%s%N) - t) / 1000000))
  if grep -q "\"Updated\": *\"$want\"" <<<"$out" && wait_serving && [ "$(running_label)" = v2 ]; then
    check_ok "$name" "$what ($ms ms)"
  else
    check_bad "$name" "$what" "$out (running: $(running_label))"
  fi
  LAST_MS=$ms
}
auto_update update::a_moved_tag_is_pulled_and_served v2 true "3. podman auto-update pulled v2 and restarted into it"
update_ms=$LAST_MS
auto_update update::a_broken_image_is_rolled_back broken "rolled back" "4. broken did not start: podman auto-update rolled back to v2"
rollback_ms=$LAST_MS
touch "$scratch/stop"
wait "$load"
load=""
figure=$(head -1 "$scratch/load.out" | sed 's/^loadcheck: //')
echo "  figure: during the two updates: $figure"
summary "update $update_ms ms, rollback $rollback_ms ms; load: $figure"
