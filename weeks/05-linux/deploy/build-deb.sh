#!/usr/bin/env bash
# build-deb.sh — builds the taskd Debian package from a built stage (`make package` runs it).
#
# usage: build-deb.sh STAGE_DIR OUT_DIR
#   STAGE_DIR  the stage's build output, holding taskd and taskd-worker (build/week-N)
#   OUT_DIR    where taskd_VERSION_amd64.deb goes (build/package), and OUT_DIR/latest names it.
#              The package's tree is put together in a scratch directory, not under build/:
#              the Makefile reads every *.d under build/ as a dependency file, and the tree has
#              usr/lib/sysusers.d/ and tmpfiles.d/ directories.
# Environment:
#   PACKAGE_VERSION  the version (default: shared/scripts/version.sh, from git describe: the one
#                    taskd --version reports)
#   PACKAGE_BROKEN=1 a deliberately broken package for the rollback test: its taskd prints why
#                    and exits 1, and its version is the normal one + "+broken" (so newer);
#                    it goes to OUT_DIR/broken/
#   PACKAGE_BROKEN=worker  broken where readiness does not look: taskd is sound, its taskd-worker
#                    prints why and exits 1 (version + "+brokenworker", OUT_DIR/broken-worker/):
#                    only a smoke test that runs a background job catches it
#
# The package is built with dpkg-deb alone, no debian/ source package: a tree laid out as it
# will be on the server, plus DEBIAN/ (control, conffiles, md5sums, maintainer scripts).
# --root-owner-group makes every file root:root in the archive whoever builds it; the only
# other owner on the server (taskd, for /var/lib/taskd) is set by systemd-tmpfiles at install.
#
# Depends: is computed, not written by hand: dpkg-shlibdeps reads the ELF binaries' NEEDED
# libraries and the shlibs/symbols files of the packages that ship them, and answers with
# package names and the least versions the used symbols need (libc6 (>= 2.34), ...). Mapping
# `ldd` output through `dpkg -S` would name the packages but not those versions, and would
# follow the build machine's library paths. dpkg-shlibdeps insists on a debian/control, so it
# runs in a scratch directory with a minimal one.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
stage=$(cd "${1:?usage: build-deb.sh STAGE_DIR OUT_DIR}" && pwd)
out=${2:?usage: build-deb.sh STAGE_DIR OUT_DIR}
broken=${PACKAGE_BROKEN:-0}

die() { echo "build-deb: $*" >&2; exit 1; }
for b in taskd taskd-worker; do
  [ -x "$stage/$b" ] || die "$stage/$b is missing: build the stage first (make week-N)"
done
for tool in dpkg-deb dpkg-shlibdeps strip; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install dpkg-dev binutils)"
done

# The version: shared/scripts/version.sh, the one taskd --version reports (from git describe).
ver=${PACKAGE_VERSION:-$(bash "$repo/shared/scripts/version.sh" "$repo")}
case $broken in
  0) ;;
  1) ver="$ver+broken" ;;
  worker) ver="$ver+brokenworker" ;;
  *) die "PACKAGE_BROKEN must be 0, 1 or worker, not '$broken'" ;;
esac
[[ $ver =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || die "version '$ver' is not a valid Debian version"

# The broken package is built beside the real one, never over it.
case $broken in
  1) out="$out/broken" ;;
  worker) out="$out/broken-worker" ;;
esac
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
root="$scratch/root"
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/usr/lib/systemd/system" "$root/usr/lib/sysusers.d" \
  "$root/usr/lib/tmpfiles.d" "$root/etc/taskd/credentials" "$root/usr/share/doc/taskd" \
  "$root/usr/share/lintian/overrides"

# The binaries, without their debug information (the build keeps it: -g).
if [ "$broken" = worker ]; then
  printf '#!/bin/sh\necho "taskd-worker: this is a deliberately broken build (PACKAGE_BROKEN=worker), for the smoke test" >&2\nexit 1\n' \
    >"$root/usr/bin/taskd-worker"
else
  strip --strip-unneeded -o "$root/usr/bin/taskd-worker" "$stage/taskd-worker"
fi
if [ "$broken" = 1 ]; then
  printf '#!/bin/sh\necho "taskd: this is a deliberately broken build (PACKAGE_BROKEN=1), for the rollback test" >&2\nexit 1\n' \
    >"$root/usr/bin/taskd"
else
  strip --strip-unneeded -o "$root/usr/bin/taskd" "$stage/taskd"
fi
chmod 0755 "$root/usr/bin/taskd" "$root/usr/bin/taskd-worker"

install -m 0644 "$here/taskd.service" "$here/taskd-worker.service" "$root/usr/lib/systemd/system/"
install -m 0644 "$here/taskd.sysusers" "$root/usr/lib/sysusers.d/taskd.conf"
install -m 0644 "$here/taskd.tmpfiles" "$root/usr/lib/tmpfiles.d/taskd.conf"
install -m 0644 "$here/taskd.env" "$root/etc/taskd/taskd.env"
chmod 0755 "$root/etc/taskd"
# The secrets' directory ships empty and root-only; the package never carries a secret
# (postinst makes the JWT key on the server, where it stays).
chmod 0700 "$root/etc/taskd/credentials"
install -m 0644 "$here/copyright" "$root/usr/share/doc/taskd/copyright"
install -m 0644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/taskd"
gzip -9n -c "$here/changelog" >"$root/usr/share/doc/taskd/changelog.gz"
chmod 0644 "$root/usr/share/doc/taskd/changelog.gz"

# Depends: from the real binary (the broken package's taskd is a script: it has none).
mkdir -p "$scratch/debian"
printf 'Source: taskd\n\nPackage: taskd\nArchitecture: amd64\n' >"$scratch/debian/control"
shlibs=$(cd "$scratch" && dpkg-shlibdeps -O -e"$stage/taskd" -e"$stage/taskd-worker" 2>/dev/null) ||
  die "dpkg-shlibdeps failed (run it by hand in a directory with debian/control to see why)"
shlibs=${shlibs#shlibs:Depends=}
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no libraries"

for s in postinst prerm postrm; do install -m 0755 "$here/$s" "$root/DEBIAN/$s"; done
echo /etc/taskd/taskd.env >"$root/DEBIAN/conffiles"
chmod 0644 "$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
  xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: taskd
Version: $ver
Architecture: amd64
Maintainer: The C backend lab <lab@example.org>
Installed-Size: $size
Depends: $shlibs, systemd (>= 247)
Section: net
Priority: optional
Description: task-management HTTP service and its background worker
 taskd serves the task API (JSON over HTTP, users, access tokens) from
 PostgreSQL, with Redis as its cache and job queue; taskd-worker runs the
 exports and reminder e-mail. Both run as hardened systemd services under
 the system user taskd, configured by /etc/taskd/taskd.env, with their
 secrets in /etc/taskd/credentials.
EOF
chmod 0644 "$root/DEBIAN/control"

mkdir -p "$out"
deb="$out/taskd_${ver}_amd64.deb"
rm -f "$out"/taskd_*_amd64.deb
dpkg-deb --build --root-owner-group -Zxz "$root" "$deb" >/dev/null
# The newest package's name, for deploy.sh and the tests.
echo "$deb" >"$out/latest"
echo "built $deb ($(du -k "$deb" | cut -f1) KiB, version $ver)"
