#!/usr/bin/env bash
# test-release.sh — `make test-release`: week 8's release and publish, for real.
#   - the version: taskd --version says what shared/scripts/version.sh says, and version.sh turns
#     tags into versions as it documents (a scratch clone with tags);
#   - make release: refused on a checkout with uncommitted changes, and on a tag without its
#     CHANGELOG.md section; otherwise the release folder holds the .deb of this version, the
#     images in one archive, notes with the changelog's section, and checksums that verify; the
#     taskd image it ships reports the same version;
#   - make publish: the images reach the local registry (its API lists the version's tag), and a
#     release that no longer matches its checksums is refused.
# usage: test-release.sh STAGE_BIN WEEK   (make passes BUILD; the release is built for WEEK's images)
# Where podman cannot run, the image checks fail with the reason. Prints one line per check and
# a summary; exit status 1 when any check failed.
set -uo pipefail
taskd=$1 week=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cd "$repo" || exit 2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
passed=0 failed=0
ok() { echo "  ok    $1"; passed=$((passed + 1)); }
bad() { echo "  FAIL  $1"; [ -z "${2:-}" ] || printf '%s\n' "$2" | tail -n 15 | sed 's/^/        /'; failed=$((failed + 1)); }
check() { # check WHAT COMMAND...: ok when COMMAND succeeds
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$what"; else bad "$what" "$out"; fi
}
# refused WHAT PHRASE COMMAND...: ok when COMMAND fails and says PHRASE.
refused() {
  local what=$1 phrase=$2 out
  shift 2
  if out=$("$@" 2>&1); then
    bad "$what" "it succeeded: $out"
  elif grep -qF -- "$phrase" <<<"$out"; then
    ok "$what"
  else
    bad "$what" "$out"
  fi
}
pod() { bash shared/scripts/podman.sh podman "$@"; }

echo "test-release: the version"
version=$(bash shared/scripts/version.sh)
check "taskd --version reports $version" grep -qx "taskd $version (stage .*)" <(
  "$taskd" --version
)
# A scratch repository with a history of our own: untagged, tagged, after the tag, dirty.
toy=$scratch/toy
git init -q "$toy" && git -C "$toy" config user.email t@localhost && git -C "$toy" config user.name t
commit() { echo "$1" >>"$toy/f" && git -C "$toy" add f && git -C "$toy" commit -qm "$1"; }
commit one && commit two
v=$(bash shared/scripts/version.sh "$toy")
check "untagged: 0.N+gHASH, N the number of commits ($v)" grep -qE '^0\.2\+g[0-9a-f]{7,}$' <<<"$v"
git -C "$toy" tag v1.4.0
v=$(bash shared/scripts/version.sh "$toy")
check "on the tag v1.4.0: 1.4.0 ($v)" test "$v" = 1.4.0
commit three
v=$(bash shared/scripts/version.sh "$toy")
check "a commit after it: 1.4.0+1.gHASH ($v)" grep -qE '^1\.4\.0\+1\.g[0-9a-f]{7,}$' <<<"$v"
echo change >>"$toy/f"
v=$(bash shared/scripts/version.sh "$toy")
check "uncommitted changes: .dirty ($v)" grep -qE '^1\.4\.0\+1\.g[0-9a-f]{7,}\.dirty$' <<<"$v"
check "each is a valid Debian version, later ones higher" dpkg --compare-versions 0.2+gabc1234 lt 1.4.0
check "  and 1.4.0 < 1.4.0+1.gabc < 1.4.0+1.gabc.dirty" bash -c \
  'dpkg --compare-versions 1.4.0 lt 1.4.0+1.gabc1234 && dpkg --compare-versions 1.4.0+1.gabc1234 lt 1.4.0+1.gabc1234.dirty'

echo "test-release: make release"
# release.sh refuses before it needs anything built: a clone of this commit, made dirty, and one
# tagged with a version CHANGELOG.md does not describe.
clone=$scratch/clone
git clone -q --no-hardlinks "$repo" "$clone"
echo "uncommitted" >>"$clone/README.md"
refused "a checkout with uncommitted changes is refused, saying why" "uncommitted changes" \
  bash "$clone/weeks/08-cicd/release/release.sh" /nonexistent.deb "$week" "$scratch/out"
git -C "$clone" checkout -q README.md && git -C "$clone" tag v99.0.0
refused "a tag without a CHANGELOG.md section is refused, naming it" "no section '## [99.0.0]'" \
  bash "$clone/weeks/08-cicd/release/release.sh" /nonexistent.deb "$week" "$scratch/out"

# The real one. In make test the checkout is a clean clone; by hand it may have edits.
if ! out=$(RELEASE_ALLOW_DIRTY=1 make --no-print-directory release 2>&1); then
  bad "make release" "$out"
else
  ok "make release ($(tail -1 <<<"$out" | sed 's/^release: //'))"
  dir=$(cat "${BUILD:-build}/release/latest")
  check "the folder is named by the version" test "$(basename "$dir")" = "$version"
  check "the .deb is this version" test "$(dpkg-deb -f "$dir/taskd_${version}_amd64.deb" Version 2>&1)" = "$version"
  check "SHA256SUMS lists every file and they verify" bash -c \
    "cd '$dir' && sha256sum --quiet -c SHA256SUMS && test \$(find . -type f ! -name SHA256SUMS | wc -l) = \$(wc -l <SHA256SUMS)"
  check "the notes carry the changelog's section" grep -q "^### Added" "$dir/RELEASE-NOTES.md"
  archive=$(find "$dir/images" -name '*.docker.tar.gz' | head -1)
  tag=${version//+/-}
  if [ -z "$archive" ]; then
    bad "the images are in the release"
  else
    names=$(gzip -dc "$archive" | tar -xOf - manifest.json | jq -r '.[].RepoTags[]' | sort)
    check "the archive holds taskd and taskd-worker, tagged $tag" bash -c \
      "grep -qx 'localhost/taskd:$tag' <<<'$names' && grep -qx 'localhost/taskd-worker:$tag' <<<'$names'"
    check "the taskd image reports $version" grep -qx "taskd $version (stage .*)" <(
      pod run --rm --pull=never "localhost/taskd:$tag" --version 2>/dev/null
    )
  fi

  echo "test-release: make publish"
  if ! out=$(make --no-print-directory publish 2>&1); then
    bad "make publish" "$out"
  else
    registry=$(sed -n 's/^REGISTRY=//p' .run/services.env)
    check "make publish: the registry lists taskd:$tag" bash -c \
      "curl -fsS 'http://$registry/v2/taskd/tags/list' | jq -e --arg t '$tag' '.tags | index(\$t)'"
  fi
  # A copy of the release with one byte of the package changed.
  cp -a "$dir" "$scratch/tampered"
  printf 'X' | dd of="$scratch/tampered/taskd_${version}_amd64.deb" bs=1 seek=100 conv=notrunc status=none
  refused "a release that does not match its checksums is not published, saying so" \
    "does not match its SHA256SUMS" bash weeks/08-cicd/release/publish.sh "$scratch/tampered"
fi

echo "test-release: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
