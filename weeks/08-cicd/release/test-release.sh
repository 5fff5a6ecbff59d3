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
# a summary, and grades them (shared/scripts/checks.sh: build/results/week-8/release.json, 17
# checks, 20 points); exit status 1 when any check failed.
set -uo pipefail
taskd=$1 week=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cd "$repo" || exit 2
scratch=$(mktemp -d)
# shellcheck source=shared/scripts/checks.sh
. "$repo/shared/scripts/checks.sh"
checks_begin week-8 release \
  version::taskd_version_reports_the_build_version:1 version::untagged_is_0_n_and_the_hash:1 \
  version::on_a_tag_is_the_tag:1 version::after_a_tag_counts_the_commits:1 \
  version::uncommitted_changes_make_it_dirty:1 version::later_builds_are_higher_debian_versions:1 \
  release::a_checkout_with_uncommitted_changes_is_refused:1 \
  release::a_tag_without_its_changelog_section_is_refused:1 release::make_release_builds_it:2 \
  release::the_folder_is_named_by_the_version:1 release::the_deb_is_this_version:1 \
  release::sha256sums_lists_and_verifies_every_file:1 release::the_notes_carry_the_changelog_section:1 \
  release::the_images_are_tagged_with_the_version:1 release::the_taskd_image_reports_the_version:1 \
  publish::the_registry_lists_the_version:2 publish::a_tampered_release_is_not_published:2
finish() {
  local status
  checks_end ""
  status=$?
  rm -rf "$scratch"
  exit "$status"
}
trap finish EXIT
check() { # check NAME WHAT COMMAND...: ok when COMMAND succeeds
  local name=$1 what=$2 out
  shift 2
  if out=$("$@" 2>&1); then check_ok "$name" "$what"; else check_bad "$name" "$what" "$out"; fi
}
# refused NAME WHAT PHRASE COMMAND...: ok when COMMAND fails and says PHRASE.
refused() {
  local name=$1 what=$2 phrase=$3 out
  shift 3
  if out=$("$@" 2>&1); then
    check_bad "$name" "$what" "it succeeded: $out"
  elif grep -qF -- "$phrase" <<<"$out"; then
    check_ok "$name" "$what"
  else
    check_bad "$name" "$what" "$out"
  fi
}
pod() { bash shared/scripts/podman.sh podman "$@"; }

echo "test-release: the version"
version=$(bash shared/scripts/version.sh)
check version::taskd_version_reports_the_build_version "taskd --version reports $version" grep -qx "taskd $version (stage .*)" <(
  "$taskd" --version
)
# A scratch repository with a history of our own: untagged, tagged, after the tag, dirty.
toy=$scratch/toy
git init -q "$toy" && git -C "$toy" config user.email t@localhost && git -C "$toy" config user.name t
commit() { echo "$1" >>"$toy/f" && git -C "$toy" add f && git -C "$toy" commit -qm "$1"; }
commit one && commit two
v=$(bash shared/scripts/version.sh "$toy")
check version::untagged_is_0_n_and_the_hash "untagged: 0.N+gHASH, N the number of commits ($v)" grep -qE '^0\.2\+g[0-9a-f]{7,}$' <<<"$v"
git -C "$toy" tag v1.4.0
v=$(bash shared/scripts/version.sh "$toy")
check version::on_a_tag_is_the_tag "on the tag v1.4.0: 1.4.0 ($v)" test "$v" = 1.4.0
commit three
v=$(bash shared/scripts/version.sh "$toy")
check version::after_a_tag_counts_the_commits "a commit after it: 1.4.0+1.gHASH ($v)" grep -qE '^1\.4\.0\+1\.g[0-9a-f]{7,}$' <<<"$v"
echo change >>"$toy/f"
v=$(bash shared/scripts/version.sh "$toy")
check version::uncommitted_changes_make_it_dirty "uncommitted changes: .dirty ($v)" grep -qE '^1\.4\.0\+1\.g[0-9a-f]{7,}\.dirty$' <<<"$v"
check version::later_builds_are_higher_debian_versions "valid Debian versions: 0.2+gabc < 1.4.0 < 1.4.0+1.gabc < 1.4.0+1.gabc.dirty" bash -c \
  'dpkg --compare-versions 0.2+gabc1234 lt 1.4.0 && dpkg --compare-versions 1.4.0 lt 1.4.0+1.gabc1234 && dpkg --compare-versions 1.4.0+1.gabc1234 lt 1.4.0+1.gabc1234.dirty'

echo "test-release: make release"
# release.sh refuses before it needs anything built: a clone of this commit, made dirty, and one
# tagged with a version CHANGELOG.md does not describe.
clone=$scratch/clone
git clone -q --no-hardlinks "$repo" "$clone"
echo "uncommitted" >>"$clone/README.md"
refused release::a_checkout_with_uncommitted_changes_is_refused "a checkout with uncommitted changes is refused, saying why" "uncommitted changes" \
  bash "$clone/weeks/08-cicd/release/release.sh" /nonexistent.deb "$week" "$scratch/out"
git -C "$clone" checkout -q README.md && git -C "$clone" tag v99.0.0
refused release::a_tag_without_its_changelog_section_is_refused "a tag without a CHANGELOG.md section is refused, naming it" "no section '## [99.0.0]'" \
  bash "$clone/weeks/08-cicd/release/release.sh" /nonexistent.deb "$week" "$scratch/out"

# The real one. In make test the checkout is a clean clone; by hand it may have edits.
if ! out=$(RELEASE_ALLOW_DIRTY=1 make --no-print-directory release 2>&1); then
  check_bad release::make_release_builds_it "make release" "$out"
else
  check_ok release::make_release_builds_it "make release ($(tail -1 <<<"$out" | sed 's/^release: //'))"
  dir=$(cat "${BUILD:-build}/release/latest")
  check release::the_folder_is_named_by_the_version "the folder is named by the version" test "$(basename "$dir")" = "$version"
  check release::the_deb_is_this_version "the .deb is this version" test "$(dpkg-deb -f "$dir/taskd_${version}_amd64.deb" Version 2>&1)" = "$version"
  check release::sha256sums_lists_and_verifies_every_file "SHA256SUMS lists every file and they verify" bash -c \
    "cd '$dir' && sha256sum --quiet -c SHA256SUMS && test \$(find . -type f ! -name SHA256SUMS | wc -l) = \$(wc -l <SHA256SUMS)"
  check release::the_notes_carry_the_changelog_section "the notes carry the changelog's section" grep -q "^### Added" "$dir/RELEASE-NOTES.md"
  archive=$(find "$dir/images" -name '*.docker.tar.gz' | head -1)
  tag=${version//+/-}
  if [ -z "$archive" ]; then
    check_bad release::the_images_are_tagged_with_the_version "the images are in the release"
  else
    names=$(gzip -dc "$archive" | tar -xOf - manifest.json | jq -r '.[].RepoTags[]' | sort)
    check release::the_images_are_tagged_with_the_version "the archive holds taskd and taskd-worker, tagged $tag" bash -c \
      "grep -qx 'localhost/taskd:$tag' <<<'$names' && grep -qx 'localhost/taskd-worker:$tag' <<<'$names'"
    check release::the_taskd_image_reports_the_version "the taskd image reports $version" grep -qx "taskd $version (stage .*)" <(
      pod run --rm --pull=never "localhost/taskd:$tag" --version 2>/dev/null
    )
  fi

  echo "test-release: make publish"
  if ! out=$(make --no-print-directory publish 2>&1); then
    check_bad publish::the_registry_lists_the_version "make publish" "$out"
  else
    registry=$(sed -n 's/^REGISTRY=//p' .run/services.env)
    check publish::the_registry_lists_the_version "make publish: the registry lists taskd:$tag" bash -c \
      "curl -fsS 'http://$registry/v2/taskd/tags/list' | jq -e --arg t '$tag' '.tags | index(\$t)'"
  fi
  # A copy of the release with one byte of the package changed.
  cp -a "$dir" "$scratch/tampered"
  printf 'X' | dd of="$scratch/tampered/taskd_${version}_amd64.deb" bs=1 seek=100 conv=notrunc status=none
  refused publish::a_tampered_release_is_not_published "a release that does not match its checksums is not published, saying so" \
    "does not match its SHA256SUMS" bash weeks/08-cicd/release/publish.sh "$scratch/tampered"
fi

# checks_end (the EXIT trap) prints the summary, writes build/results/week-8/release.json and
# sets the exit status.
