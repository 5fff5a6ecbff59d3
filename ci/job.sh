#!/usr/bin/env bash
# job.sh — one job of the pipeline, by name. Both pipeline files (.github/workflows/ci.yml for
# GitHub Actions, .gitlab-ci.yml for GitLab) run their jobs through it, and `make ci`
# (ci/local.sh) runs them in order on this machine. Each job is a make target or two, so what a
# job does lives in the repository and runs the same on a laptop as on a hosted runner.
#
# usage: job.sh --list          every job: its name, its argument if it takes one, what it does
#        job.sh --targets       every make target the jobs run (ci/validate.sh checks they exist)
#        job.sh NAME [ARG]      run one job from the repository's root
#
# The jobs (a pipeline puts them in this order; `make ci` prints them as a table):
#   lint          formatting, the include layers, cppcheck and clang-tidy        make lint
#   pipelines     both pipeline files against their schemas, and everything they name
#   build CC      every stage and suite with compiler CC (gcc or clang), warnings as errors
#   test PART     one part of make test (suites, labs, sanitize, docs, server); results kept
#   report        the grade and JUnit XML from every part's results
#   release       make release (the .deb, the images, notes, checksums), then make publish:
#                 the images go to REGISTRY (the host's registry, its login from the host's
#                 secret store), or to the local registry when REGISTRY is unset
#   deploy-staging  the release's .deb, blue/green, to staging: the week-5 server, booted and
#                 provisioned on this machine (a hosted runner's staging lives as long as the job)
#   deploy-production  the release's .deb, blue/green, to the server that PRODUCTION_HOST,
#                 PRODUCTION_USER, PRODUCTION_SSH_KEY (a secret), PRODUCTION_SSH_PORT and
#                 PRODUCTION_HTTP_PORT name; the pipelines run it only after a person approves
#
# Every job installs what it is missing first (make deps: apt and npm, as make test does), so a
# fresh runner needs nothing but this repository.
set -euo pipefail
cd "$(dirname "$0")/.."

MAKE=${MAKE:-make}
TEST_PARTS_ALL="suites labs sanitize docs server"

usage() { echo "usage: job.sh --list | --targets | NAME [ARG] (job.sh --list names the jobs)" >&2; exit 2; }
say() { echo "job: $*"; }

list() {
  cat <<'EOF'
lint		formatting, the include layers, cppcheck and clang-tidy (make lint)
pipelines		both pipeline files against their schemas, and every job, script and target they name (make ci-validate)
build	CC	every stage and suite with compiler CC, gcc or clang (make all)
test	PART	one part of make test: suites, labs, sanitize, docs or server (make test TEST_PARTS=PART)
report		the grade and JUnit XML from every part's results (build/grade.json, build/junit/)
release		make release, then make publish (build/release/VERSION/; the images to REGISTRY or the local registry)
deploy-staging		the release's .deb to staging, the week-5 server booted here, blue/green (make deploy-staging DEB=...)
deploy-production		the release's .deb to PRODUCTION_HOST, blue/green, after approval (make deploy-staging SERVER_ENV=...)
EOF
}

# The make targets the jobs run: ci/validate.sh checks that each exists.
targets() { printf '%s\n' deps lint ci-validate all test ci-report release publish server-up server-provision deploy-staging; }

# release_deb: the .deb of the newest release in build/release/ (the release job's artifact).
release_deb() {
  local dir
  dir=$(cat build/release/latest 2>/dev/null) || { echo "job: no release in build/release/ (the release job's artifact)" >&2; return 1; }
  find "$dir" -maxdepth 1 -name 'taskd_*.deb' | head -1 | grep . ||
    { echo "job: $dir has no .deb" >&2; return 1; }
}

[ $# -ge 1 ] || usage
job=$1
shift
case $job in
  --list) list; exit 0 ;;
  --targets) targets; exit 0 ;;
esac

start=$SECONDS
case $job in
  lint)
    "$MAKE" deps
    "$MAKE" lint
    ;;
  pipelines)
    "$MAKE" deps
    "$MAKE" ci-validate
    ;;
  build)
    cc=${1:-}
    case $cc in
      gcc) dir=build ;;
      clang) dir=build-clang ;;
      *) echo "job build: the compiler must be gcc or clang, not '${cc}'" >&2; exit 2 ;;
    esac
    command -v "$cc" >/dev/null || { echo "job build: $cc is not installed (apt-get install $cc)" >&2; exit 1; }
    "$MAKE" deps
    # gcc's objects are the ones the test jobs reuse (build/); clang's go beside them, since make
    # does not rebuild an object because the compiler changed.
    say "building every stage and suite with $cc into $dir/"
    "$MAKE" -j2 all CC="$cc" BUILD="$dir"
    # On a hosted runner, gcc's build is handed to the test jobs as one tar file: the hosts'
    # artifact upload drops the executable bit (GitHub's does), a tar keeps it.
    if [ "$cc" = gcc ] && { [ -n "${GITHUB_ACTIONS:-}" ] || [ -n "${GITLAB_CI:-}" ]; }; then
      tar -cf build-gcc.tar build
      say "build-gcc.tar: $(du -h build-gcc.tar | cut -f1), for the test jobs"
    fi
    ;;
  test)
    part=${1:-}
    case " $TEST_PARTS_ALL " in
      *" $part "*) [ -n "$part" ] ;;
      *) false ;;
    esac || { echo "job test: the part must be one of: $TEST_PARTS_ALL (not '${part}')" >&2; exit 2; }
    # The build job's output, when the host handed it over: unpacked, then every file given one
    # time, so that none is older than the sources this job's checkout just wrote (make would
    # rebuild all of it) and none is newer than another (make compares, and equal is up to date).
    if [ -f build-gcc.tar ] && [ ! -d build ]; then
      tar -xf build-gcc.tar
      now=$(date +%s)
      find build -exec touch -h -d "@$now" {} +
      say "the build job's build/ unpacked"
    fi
    "$MAKE" test TEST_PARTS="$part"
    ;;
  report)
    "$MAKE" ci-report
    ;;
  release)
    "$MAKE" deps
    "$MAKE" release
    "$MAKE" publish
    ;;
  deploy-staging)
    deb=$(release_deb)
    "$MAKE" deps
    "$MAKE" server-up
    "$MAKE" server-provision
    # A server without taskd gets it the week-5 way first (its units, settings and key); every
    # deploy after that is blue/green.
    if ! bash weeks/05-linux/server/server.sh ssh 'test -f /usr/lib/systemd/system/taskd.service' </dev/null; then
      bash weeks/05-linux/deploy/deploy.sh "$deb"
    fi
    "$MAKE" deploy-staging DEB="$deb"
    ;;
  deploy-production)
    deb=$(release_deb)
    : "${PRODUCTION_HOST:?job deploy-production: PRODUCTION_HOST is not set: a variable of the pipeline host}"
    : "${PRODUCTION_SSH_KEY:?job deploy-production: PRODUCTION_SSH_KEY is not set: a secret of the pipeline host}"
    env_dir=$(mktemp -d)
    trap 'rm -rf "$env_dir"' EXIT
    (umask 077 && printf '%s\n' "$PRODUCTION_SSH_KEY" >"$env_dir/key")
    {
      echo "SERVER_HOST=$PRODUCTION_HOST"
      echo "SERVER_USER=${PRODUCTION_USER:-deploy}"
      echo "SERVER_HTTP_PORT=${PRODUCTION_HTTP_PORT:-80}"
      echo "SERVER_SSH_OPTS=\"-i $env_dir/key -p ${PRODUCTION_SSH_PORT:-22} -o BatchMode=yes -o StrictHostKeyChecking=accept-new\""
    } >"$env_dir/server.env"
    "$MAKE" deploy-staging DEB="$deb" SERVER_ENV="$env_dir/server.env"
    ;;
  *)
    echo "job: no job named '$job'; the jobs are:" >&2
    list | cut -f1 | sed 's/^/  /' >&2
    exit 2
    ;;
esac
say "$job${1:+ $1} done in $((SECONDS - start)) s"
