#!/usr/bin/env bash
# labgen.sh — makes a week's lab from its reference source: one source of truth.
#
# usage: [FORCE=1] labgen.sh WEEK_DIR LAB_DIR
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
#
# Lab files are the learner's work, so regenerating never destroys it (issue 10, item 1).
# LAB_DIR/.generated records the sha256 of every file as last written here. A lab file that
# differs both from the new output and from its recorded hash has been edited: labgen refuses to
# write anything, names those files and exits 3. FORCE=1 overwrites them, after copying each one
# to LAB_DIR/.backup/<file>.<UTC timestamp>.
set -euo pipefail
week_dir=$1
lab_dir=$2
mkdir -p "$lab_dir"
manifest="$lab_dir/.generated"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
status=0
for src in "$week_dir"/src/*.c; do
  grep -qE 'LAB:(BEGIN|END)' "$src" || continue
  out="$stage/$(basename "$src")"
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
  ' "$src" > "$out.body" || { rm -f "$out.body"; status=1; continue; }
  { printf '/* Lab copy of %s (made by shared/scripts/labgen.sh): write your code here.\n' "$src"
    printf ' * Each TODO(lab N.M) is one exercise; labs/%s/README.md explains them. */\n' "$(basename "$lab_dir")"
    cat "$out.body"; } > "$out"
  rm -f "$out.body"
done
[ $status -eq 0 ] || exit $status

# recorded FILE: the hash .generated holds for FILE (empty when none).
recorded() { if [ -f "$manifest" ]; then awk -v f="$1" '$2 == f { print $1 }' "$manifest"; fi; }
hash_of() { sha256sum "$1" | awk '{ print $1 }'; }

edited=()
for new in "$stage"/*.c; do
  [ -e "$new" ] || continue
  name=$(basename "$new")
  old="$lab_dir/$name"
  [ -f "$old" ] || continue
  cmp -s "$new" "$old" && continue
  [ "$(hash_of "$old")" = "$(recorded "$name")" ] && continue
  edited+=("$name")
done
if [ ${#edited[@]} -gt 0 ]; then
  if [ "${FORCE:-0}" != 1 ]; then
    {
      echo "labgen: refusing to overwrite your work in $lab_dir: these files differ from what labgen last wrote:"
      for name in "${edited[@]}"; do echo "  $lab_dir/$name"; done
      echo "Nothing was written. Keep them, or run 'make labs FORCE=1' to regenerate them:"
      echo "each one is first copied to $lab_dir/.backup/<file>.<timestamp>."
    } >&2
    exit 3
  fi
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$lab_dir/.backup"
  for name in "${edited[@]}"; do
    cp -p "$lab_dir/$name" "$lab_dir/.backup/$name.$stamp"
    echo "labgen: FORCE=1: saved $lab_dir/$name as $lab_dir/.backup/$name.$stamp" >&2
  done
fi

: > "$stage/.generated"
for new in "$stage"/*.c; do
  [ -e "$new" ] || continue
  name=$(basename "$new")
  cmp -s "$new" "$lab_dir/$name" 2>/dev/null || cp "$new" "$lab_dir/$name"
  printf '%s  %s\n' "$(hash_of "$new")" "$name" >> "$stage/.generated"
done
cp "$stage/.generated" "$manifest"
