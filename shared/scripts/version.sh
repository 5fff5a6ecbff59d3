#!/usr/bin/env bash
# version.sh — the version of this checkout, as every artefact states it: `taskd --version`
# (compiled in, shared/mk/stage.mk), the .deb's name and Version (week 5's build-deb.sh), the
# images' tags and the release folder (week 8).
#
# It comes from git, never from a file someone must remember to edit. A release is a tag
# vMAJOR.MINOR.PATCH (ci/release.sh explains how to make one). The form is a valid Debian
# version, which must start with a digit and may hold only [A-Za-z0-9.+~] (a '-' would start the
# Debian revision):
#   on the tag v1.2.0                 1.2.0
#   3 commits after it                1.2.0+3.gabc1234      (a later commit is a higher version)
#   no tag yet                        0.N+gabc1234          (N: the number of commits)
#   with uncommitted changes          ... .dirty            (1.2.0+3.gabc1234.dirty)
#   not a git checkout                0.0+unknown
# usage: version.sh [REPO_DIR]        prints the version on stdout
# TASKD_BUILD_VERSION, when set, is printed instead: a build without .git (compose/Dockerfile's
# builder) is told the version by the one that has it.
set -euo pipefail
if [ -n "${TASKD_BUILD_VERSION:-}" ]; then
  echo "$TASKD_BUILD_VERSION"
  exit 0
fi
repo=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
d=$(git -C "$repo" describe --tags --match 'v[0-9]*' --always --dirty 2>/dev/null) || { echo "0.0+unknown"; exit 0; }
if [[ $d =~ ^[0-9a-f]{7,40}(-dirty)?$ ]]; then
  n=$(git -C "$repo" rev-list --count HEAD 2>/dev/null) || n=0
  echo "0.$n+g${d//-/.}"
else
  d=${d#v}
  d=${d/-/+}
  echo "${d//-/.}"
fi
