#!/usr/bin/env bash
# test-dashboard-ui.sh — the dashboard page in a real browser, with real data: make
# test-dashboard-ui (a picture under build/) and make dashboard-screenshot (the lesson's).
#
# usage: test-dashboard-ui.sh TASKD SCREENSHOT.png   (from the repository's root, with the
#        services' environment loaded, DATABASE_URL a fresh database, TASKD_ENV the settings)
# Starts a stage-9 instance behind the front, Prometheus in drill mode (a scrape a second) with
# nginx's exporter, sends a user's traffic through the front for TRAFFIC_SECONDS (20), then
# opens the page in Debian's headless Chromium (shared/npm/page-shot.mjs): every panel must be
# drawn from Prometheus, nothing may fail, and nothing may come from anywhere else.
set -euo pipefail
taskd=$1 shot=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../../.." && pwd)
# shellcheck source=shared/scripts/ports.sh source-path=SCRIPTDIR/../../../..
. "$root/shared/scripts/ports.sh"
week="$root/weeks/09-nginx-monitoring"
# shellcheck source=weeks/09-nginx-monitoring/scratch-run.sh source-path=SCRIPTDIR/../../../..
. "$week/scratch-run.sh"
scratch_run taskd-dash
cleanup() {
  bash "$week/monitoring/monitor.sh" down "$run/mon" || true
  bash "$week/front/front.sh" down "$run/front" || true
  scratch_stop
  rm -rf "$run"
}
trap cleanup EXIT

scratch_taskd "$taskd" taskd TRUSTED_PROXIES=127.0.0.1
port=$taskd_port
out=$(bash "$week/front/front.sh" up "$run/front" "127.0.0.1:$port")
front=$(awk '/^front-url/ {print $2}' <<<"$out")
status=$(awk '/^status-url/ {print $2}' <<<"$out")
out=$(bash "$week/monitoring/monitor.sh" up "$run/mon" --drill --nginx "$status" "127.0.0.1:$port")
prometheus=$(awk '/^prometheus-url/ {print $2}' <<<"$out")

# A user's traffic through the front: tasks made, read twice (the cache), listed, a few misses.
user='{"email":"dashboard@example.com","password":"dashboard-password-1"}'
curl -s -o /dev/null -H 'Content-Type: application/json' -d "$user" "$front/auth/register"
token=$(curl -s -H 'Content-Type: application/json' -d "$user" "$front/auth/login" | jq -r .access_token)
auth="Authorization: Bearer $token"
end=$((SECONDS + ${TRAFFIC_SECONDS:-20}))
while [ $SECONDS -lt $end ]; do
  id=$(curl -s -H "$auth" -H 'Content-Type: application/json' -d '{"title":"watch the dashboard"}' \
    "$front/tasks" | jq -r .id)
  curl -s -o /dev/null -H "$auth" "$front/tasks/$id"
  curl -s -o /dev/null -H "$auth" "$front/tasks/$id"
  curl -s -o /dev/null -H "$auth" "$front/tasks?limit=20"
  curl -s -o /dev/null -H "$auth" "$front/tasks/999999999"
  curl -s -o /dev/null "$front/health"
done

bash "$here/serve.sh" "$run/page" "$prometheus" >"$run/serve.out" &
pids+=("$!")
for _ in $(seq 100); do
  url=$(awk '/^dashboard-url/ {print $2}' "$run/serve.out")
  [ -n "$url" ] && curl -sf -o /dev/null "${url%%\?*}" && break
  sleep 0.1
done
[ -n "$url" ] || { echo "test-dashboard-ui: the page's server did not start" >&2; exit 1; }
mkdir -p "$(dirname "$shot")"
ALLOW_ORIGIN="$prometheus" node "$root/shared/npm/page-shot.mjs" "$url&minutes=2" "$shot"
