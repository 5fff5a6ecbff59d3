#!/usr/bin/env bash
# labgen.sh — makes a week's lab from its reference source: one source of truth.
#
# usage: labgen.sh WEEK_DIR LAB_DIR
# Every .c file in WEEK_DIR/src that holds LAB markers is copied to LAB_DIR with each marked
# block replaced by its exercise text as a TODO and the placeholder statement after LAB:END:
#
#     /* LAB:BEGIN 1.3 Validate each tag ... */        ->   /* TODO(lab 1.3): Validate each tag ... */
#     ...reference code...                                return ERR_INTERNAL;
#     /* LAB:END return ERR_INTERNAL; */
#
# Files without markers are not copied: the lab build takes them from the week directory.
# A bad marker (BEGIN inside a block, END without BEGIN, BEGIN never closed) is reported as
# FILE:LINE on stderr, and the script exits 1 after trying every file.
set -euo pipefail
week_dir=$1
lab_dir=$2
mkdir -p "$lab_dir"
status=0
for src in "$week_dir"/src/*.c; do
  grep -qE 'LAB:(BEGIN|END)' "$src" || continue
  out="$lab_dir/$(basename "$src")"
  awk -v file="$src" '
    function fail(msg) { printf "%s:%d: %s\n", file, NR, msg > "/dev/stderr"; bad = 1; exit 1 }
    /\/\* LAB:BEGIN / {
      if (inside) fail("LAB:BEGIN inside another block")
      inside = NR
      match($0, /^[ \t]*/); indent = substr($0, 1, RLENGTH)
      text = $0
      sub(/^[ \t]*\/\* LAB:BEGIN /, "", text); sub(/[ \t]*\*\/[ \t]*$/, "", text)
      id = text; sub(/ .*/, "", id); rest = text; sub(/^[^ ]+ /, "", rest)
      printf "%s/* TODO(lab %s): %s */\n", indent, id, rest
      next
    }
    /\/\* LAB:END/ {
      if (!inside) fail("LAB:END without LAB:BEGIN")
      inside = 0
      stmt = $0
      sub(/^[ \t]*\/\* LAB:END[ \t]*/, "", stmt); sub(/[ \t]*\*\/[ \t]*$/, "", stmt)
      if (stmt != "") printf "%s%s\n", indent, stmt
      next
    }
    !inside { print }
    END { if (inside && !bad) { printf "%s:%d: LAB:BEGIN never closed\n", file, inside > "/dev/stderr"; exit 1 } }
  ' "$src" > "$out.tmp" || { rm -f "$out.tmp"; status=1; continue; }
  { printf '/* Lab copy of %s (made by shared/scripts/labgen.sh): write your code here.\n' "$src"
    printf ' * Each TODO(lab N.M) is one exercise; labs/%s/README.md explains them. */\n' "$(basename "$lab_dir")"
    cat "$out.tmp"; } > "$out"
  rm -f "$out.tmp"
done
exit $status
