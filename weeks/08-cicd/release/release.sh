#!/usr/bin/env bash
# release.sh — `make release`: one version of taskd, every artefact of it in one folder, with
# checksums and notes, ready to publish.
#
# usage: release.sh PACKAGE.deb WEEK OUT_DIR
#   PACKAGE.deb  the newest stage's .deb (make package built it with this checkout's version)
#   WEEK         the Compose profile whose images ship (the newest stage's)
#   OUT_DIR      where OUT_DIR/VERSION/ goes (build/release); OUT_DIR/latest names it
# Environment:
#   RELEASE_ALLOW_DIRTY=1  release a checkout with uncommitted changes (its version ends in
#                          .dirty); refused otherwise: a release must be rebuildable from a commit
#   RELEASE_IMAGES=0       no images (a machine without podman); the notes say so
#
# What OUT_DIR/VERSION/ holds:
#   taskd_VERSION_amd64.deb          the package (week 5), for the server
#   images/taskd-images_TAG.docker.tar.gz  every image of the profile (week 6), tagged with the
#                                    version (an image tag may not hold '+': 1.2.0+3.gabc is
#                                    1.2.0-3.gabc), in one archive: `gunzip -c FILE | podman load` (or docker load)
#   RELEASE-NOTES.md                 CHANGELOG.md's section for this version (a tagged version
#                                    must have one), then the artefacts and how to check them
#   SHA256SUMS                       every file above: sha256sum -c SHA256SUMS
# The version is shared/scripts/version.sh's: the one taskd --version reports.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
[ $# -eq 3 ] || { echo "usage: release.sh PACKAGE.deb WEEK OUT_DIR" >&2; exit 2; }
deb=$1 week=$2 out=$3
say() { echo "release: $*"; }
die() { echo "release: error: $*" >&2; exit 1; }

version=$(bash "$repo/shared/scripts/version.sh" "$repo")
case $version in
  *.dirty) [ "${RELEASE_ALLOW_DIRTY:-0}" = 1 ] ||
    die "the checkout has uncommitted changes (version $version): commit them, or RELEASE_ALLOW_DIRTY=1 for a trial" ;;
esac
# The notes: the changelog's section. A tag (a version without '+') is a real release and must
# have its own section; anything else takes Unreleased.
section=$version
[[ $version == *+* ]] && section=Unreleased
notes=$(awk -v s="$section" '
  index($0, "## [" s "]") == 1 { on = 1; next }
  on && /^## \[/ { exit }
  on { print }' "$repo/CHANGELOG.md")
[ -n "$(tr -d '[:space:]' <<<"$notes")" ] ||
  die "CHANGELOG.md has no section '## [$section]' (or it is empty): write what changed first"

[ -s "$deb" ] || die "no package $deb (make package)"
deb_version=$(dpkg-deb -f "$deb" Version)
[ "$deb_version" = "$version" ] || die "$deb is version $deb_version, this checkout is $version (make package again)"
tag=${version//+/-}

dir="$out/$version"
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp/images"
cp "$deb" "$dir.tmp/"
say "$version: the package $(basename "$deb")"

images_note=""
if [ "${RELEASE_IMAGES:-1}" = 0 ]; then
  images_note="No images in this release (built with RELEASE_IMAGES=0)."
else
  bash "$repo/shared/scripts/podman.sh" check >/dev/null ||
    die "podman cannot run here (make release RELEASE_IMAGES=0 releases the package alone)"
  say "building the week-$week images (compose.sh images $week), version $version"
  BUILD=${BUILD:-build} bash "$repo/shared/scripts/compose.sh" images "$week" >/dev/null
  tagged=()
  while IFS= read -r image; do
    tagged+=("${image%:*}:$tag")
    bash "$repo/shared/scripts/podman.sh" podman tag "$image" "${tagged[-1]}"
  done < <(BUILD=${BUILD:-build} bash "$repo/shared/scripts/compose.sh" image-names "$week")
  [ ${#tagged[@]} -gt 0 ] || die "compose.sh names no image for week $week"
  # One archive for all of them: they share their lower layers, which an archive per image would
  # repeat (about 70 MB each). Only Docker's archive format holds several images.
  # Docker's archive keeps layers uncompressed: gzip takes it from about 210 MB to 70 (podman
  # 4.3 loads it through gunzip -c, docker load as it is).
  file="$dir.tmp/images/taskd-images_$tag.docker.tar"
  bash "$repo/shared/scripts/podman.sh" podman save --quiet --multi-image-archive --format docker-archive \
    -o "$file" "${tagged[@]}"
  gzip -6 "$file"
  file="$file.gz"
  say "images ${tagged[*]} -> images/$(basename "$file") ($(du -h "$file" | cut -f1))"
fi

{
  echo "# taskd $version"
  echo
  echo "Built from commit $(git -C "$repo" rev-parse HEAD) on $(date -u +%Y-%m-%d)."
  echo
  echo "$notes"
  echo
  echo "## Artefacts"
  echo
  echo "- \`$(basename "$deb")\`: the Debian package (\`sudo apt-get install ./$(basename "$deb")\`, or \`make deploy-staging\`)."
  if [ -n "$images_note" ]; then
    echo "- $images_note"
  else
    for f in "$dir.tmp"/images/*.tar.gz; do
      echo "- \`images/$(basename "$f")\`: ${tagged[*]} (\`gunzip -c images/$(basename "$f") | podman load\`)"
    done
  fi
  echo
  echo "Check them with \`sha256sum -c SHA256SUMS\`."
} >"$dir.tmp/RELEASE-NOTES.md"

sums=$(cd "$dir.tmp" && find . -type f -printf '%P\n' | sort | xargs sha256sum)
printf '%s\n' "$sums" >"$dir.tmp/SHA256SUMS"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
echo "$dir" >"$out/latest"
say "$version released in $dir: $(find "$dir" -type f | wc -l) files, $(du -sh "$dir" | cut -f1); sha256sum -c SHA256SUMS checks them"
