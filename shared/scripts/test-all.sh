#!/usr/bin/env bash
# test-all.sh — the steps of `make test` after the build, in order, each run even when an
# earlier one failed; exits non-zero when any did. The Makefile passes what it knows:
#   BUILD     the build directory (build); MAKE, the make that runs the steps
#   WEEKS     the week numbers, "1 2 3 4"
#   SMOKE_*   what the newest stage needs for shared/scripts/smoke-run.sh
# `make test-attacks` runs every week's attack suite after the graded suites (its summary is in
# $BUILD/attacks/summary.json). `make docs-check` runs the lessons' runnable blocks (the README's
# quick start among them) against fresh stages; the Makefile gives it what each stage needs.
set -uo pipefail
build=${BUILD:-build}
make=${MAKE:-make}
read -r -a weeks <<<"${WEEKS:?WEEKS must list the week numbers}"
status=0
step() { "$@" || { echo "test: FAILED: $*" >&2; status=1; }; }

rm -rf "$build/results"
bash shared/scripts/services.sh prune-test-dbs >/dev/null 2>&1 || true
step bash shared/scripts/test-labgen.sh
step bash shared/scripts/test-exercises.sh
step bash shared/scripts/test-runner.sh
step bash shared/scripts/test-grade.sh
step bash shared/scripts/check-layers.sh
for n in "${weeks[@]}"; do step "$make" test-week-"$n"; done
# The attack suite (weeks/NN/tests/attack_*.c, issue 11) against the newest stage: not graded,
# but a refused attack that gets through fails make test like a failed suite.
step "$make" test-attacks
for n in "${weeks[@]}"; do step "$make" -j2 lab-check-"$n"; done
# test-sanitize must work as the first command after a clone (issue 11, item 9): once its goals
# named the normal build folder, which a fresh clone does not have ("No rule to make target
# 'build/week-1/tests/api'"). A dry run with a build folder that does not exist shows that
# without building anything.
step "$make" -n BUILD="$build-absent" test-sanitize >/dev/null
step "$make" test-sanitize
step "$make" fuzz FUZZ_SECONDS=10
step bash shared/scripts/smoke-run.sh
step "$make" docs-check
# The OpenAPI document against the service (every black-box suite through Prism's validating
# proxy), and GET /docs in headless Chromium.
step "$make" test-openapi-proxy
step "$make" test-docs-ui
bash shared/scripts/services.sh down >/dev/null 2>&1 || true
step "$build/tools/grade" "$build/results" "$build/grade.json"
exit $status
