#!/usr/bin/env bash
# lab-sources.sh — the files of a week that hold LAB markers, one path a line: every
# WEEK_DIR/src/*.c with a marker, then each file WEEK_DIR/lab/files.txt declares (paths relative
# to WEEK_DIR: the week's non-C lab files, e.g. a systemd unit, whose markers are `#` comments).
#
# usage: lab-sources.sh WEEK_DIR
# labgen.sh, exercises.sh (check) and lab.sh (solution) all read the markers from this list, so
# a declared file is cut, checked and shown like a .c file. A declared file that is missing, or
# that holds no marker, is an error (exit 1): the list must not drift from the files.
# Declared, not found by a search: the week's README and lessons quote the markers' syntax, and
# must not become lab files.
set -euo pipefail
week_dir=$1
status=0
for src in "$week_dir"/src/*.c; do
  [ -e "$src" ] || continue
  grep -qE 'LAB:(BEGIN|END)' "$src" && echo "$src"
done
list="$week_dir/lab/files.txt"
if [ -f "$list" ]; then
  while read -r path _; do
    case "$path" in '' | '#'*) continue ;; esac
    if [ ! -f "$week_dir/$path" ]; then
      echo "lab-sources: $list names $path, which is not in $week_dir" >&2; status=1
    elif ! grep -qE '^[[:space:]]*# LAB:(BEGIN|END)' "$week_dir/$path"; then
      echo "lab-sources: $list names $path, which holds no '# LAB:BEGIN' marker" >&2; status=1
    else
      echo "$week_dir/$path"
    fi
  done <"$list"
fi
exit $status
