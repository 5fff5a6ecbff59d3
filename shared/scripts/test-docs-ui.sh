#!/usr/bin/env bash
# test-docs-ui.sh — GET /docs in a real browser: make test-docs-ui.
#
# usage: test-docs-ui.sh TASKD_BIN SCREENSHOT.png
# Starts the stage on a free port with a throwaway SQLite database (week 1's stage: no services
# needed), then shared/npm/docs-ui.mjs drives Debian's headless Chromium through playwright-core
# (no browser is downloaded): the operations render, and "Try it out" on GET /health shows 200.
# make test-docs-ui saves its picture under build/; make docs-screenshots saves the one in week 1's
# lesson (a test run leaves tracked files alone).
set -euo pipefail
taskd=${1:?usage: test-docs-ui.sh TASKD_BIN SCREENSHOT.png}
shot=${2:?usage: test-docs-ui.sh TASKD_BIN SCREENSHOT.png}
here=$(cd "$(dirname "$0")/../.." && pwd)
bash "$here/shared/scripts/install-deps.sh" --quiet docs-ui
if [ ! -d "$here/shared/npm/node_modules/playwright-core" ]; then
  echo "test-docs-ui: playwright-core is not installed (shared/npm): run make deps, which needs the npm registry" >&2
  exit 1
fi
chromium=$(command -v chromium || true)
[ -n "$chromium" ] || { echo "test-docs-ui: Debian's chromium is not installed (install-deps.sh docs-ui)" >&2; exit 1; }

work=$(mktemp -d /tmp/taskd-docs-ui-XXXXXX)
pid=""
cleanup() { [ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }; rm -rf "$work"; }
trap cleanup EXIT
PORT=0 DATABASE_URL="sqlite:$work/taskd.db" "$taskd" >"$work/taskd.log" 2>&1 &
pid=$!
port=""
for _ in $(seq 1 200); do
  port=$(sed -n 's/.*"msg":"listening".*"port":\([0-9]*\).*/\1/p' "$work/taskd.log" | head -n 1)
  [ -z "$port" ] || break
  kill -0 "$pid" 2>/dev/null || { cat "$work/taskd.log" >&2; exit 1; }
  sleep 0.05
done
[ -n "$port" ] || { echo "test-docs-ui: $taskd did not log its port" >&2; cat "$work/taskd.log" >&2; exit 1; }
CHROMIUM="$chromium" node "$here/shared/npm/docs-ui.mjs" "http://127.0.0.1:$port" "$shot"
