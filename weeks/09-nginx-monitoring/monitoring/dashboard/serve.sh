#!/usr/bin/env bash
# serve.sh — the dashboard page (index.html, dashboard.js) with the Grafana dashboard's JSON and
# uPlot, on a loopback port, reading Prometheus at PROMETHEUS_URL: `make dashboard`.
#
# usage: serve.sh DIR PROMETHEUS_URL [PORT]   (from the repository's root; PORT: a free one)
# Prints "dashboard-url http://127.0.0.1:PORT/?prometheus=..." and serves until stopped
# (python3's http.server over DIR, where the files are linked). Prometheus answers the page's
# requests from another origin because it allows any by default (--web.cors.origin).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../../.." && pwd)
# shellcheck source=shared/scripts/ports.sh source-path=SCRIPTDIR/../../../..
. "$root/shared/scripts/ports.sh"
dir=$1 prometheus=$2 port=${3:-}
uplot="$root/shared/npm/node_modules/uplot/dist"
[ -f "$uplot/uPlot.esm.js" ] || { echo "dashboard: uPlot is not installed (shared/npm): run make deps" >&2; exit 1; }
mkdir -p "$dir"
ln -sf "$here/index.html" "$here/dashboard.js" "$here/dashboard.css" \
  "$here/../grafana/taskd-dashboard.json" "$uplot/uPlot.esm.js" "$uplot/uPlot.min.css" "$dir/"
port=${port:-$(free_port)}
echo "dashboard-url http://127.0.0.1:$port/?prometheus=$prometheus"
exec python3 -m http.server --bind 127.0.0.1 --directory "$dir" "$port" >"$dir/../dashboard-server.log" 2>&1
