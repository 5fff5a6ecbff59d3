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
#
# Other files can be lab files too (decision 0027): WEEK_DIR/lab/files.txt declares them
# (shared/scripts/lab-sources.sh), e.g. week 5's systemd unit, firewall and backup script. Their
# markers are `#` comment lines, valid in all of those formats, and the placeholder is a line
# (or nothing):
#
#     # LAB:BEGIN 5.6 Harden the service ...   ->   # TODO(lab 5.6): Harden the service ...
#     ...reference lines...
#     # LAB:END
#
# Such a file goes to LAB_DIR under its own name (two lab files may not share one), with a
# `#` header after its #! line if it has one, and keeps its mode (a script stays executable).
# A bad marker (BEGIN inside a block, END without BEGIN, BEGIN never closed) is reported as
# FILE:LINE on stderr, and the script exits 1 after trying every file.
#
# LAB_SOLVED="ID ..." keeps those exercises' reference code (the marker lines dropped): a lab with
# those exercises done, which lab-check.sh grades to tell a cascade from a test no exercise names.
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
sources=$(bash "$(dirname "$0")/lab-sources.sh" "$week_dir") || exit 1
while IFS= read -r src; do
  [ -n "$src" ] || continue
  out="$stage/$(basename "$src")"
  if [ -e "$out" ]; then
    echo "labgen: $src and another lab file would both be $lab_dir/$(basename "$src")" >&2; status=1; continue
  fi
  # The comment syntax: C's /* */ for .c files, a `#` line (at its start) for the others.
  style="hash"
  [[ $src == *.c ]] && style=c
  awk -v file="$src" -v solved=" ${LAB_SOLVED:-} " -v style="$style" '
    function fail(msg) { printf "%s:%d: %s\n", file, NR, msg > "/dev/stderr"; bad = 1; exit 1 }
    BEGIN {
      if (style == "c") { begin_re = "\\/\\* LAB:BEGIN "; end_re = "\\/\\* LAB:END"
                          lead_begin = "^[ \t]*\\/\\* LAB:BEGIN "; lead_end = "^[ \t]*\\/\\* LAB:END[ \t]*"
                          tail = "[ \t]*\\*\\/[ \t]*$" }
      else { begin_re = "^[ \t]*# LAB:BEGIN "; end_re = "^[ \t]*# LAB:END"
             lead_begin = begin_re; lead_end = "^[ \t]*# LAB:END[ \t]*"; tail = "[ \t]*$" }
    }
    $0 ~ begin_re {
      if (inside) fail("LAB:BEGIN inside another block")
      inside = NR
      match($0, /^[ \t]*/); indent = substr($0, 1, RLENGTH)
      text = $0
      sub(lead_begin, "", text); sub(tail, "", text)
      id = text; sub(/ .*/, "", id); rest = text; sub(/^[^ ]+ /, "", rest)
      keep = index(solved, " " id " ") > 0
      if (!keep) {
        if (style == "c") printf "%s/* TODO(lab %s): %s */\n", indent, id, rest
        else printf "%s# TODO(lab %s): %s\n", indent, id, rest
      }
      next
    }
    $0 ~ end_re {
      if (!inside) fail("LAB:END without LAB:BEGIN")
      inside = 0
      stmt = $0
      sub(lead_end, "", stmt); sub(tail, "", stmt)
      if (stmt != "" && !keep) printf "%s%s\n", indent, stmt
      next
    }
    !inside || keep { print }
    END { if (inside && !bad) { printf "%s:%d: LAB:BEGIN never closed\n", file, inside > "/dev/stderr"; exit 1 } }
  ' "$src" > "$out.body" || { rm -f "$out.body"; status=1; continue; }
  if [ "$style" = c ]; then
    { printf '/* Lab copy of %s (made by shared/scripts/labgen.sh): write your code here.\n' "$src"
      printf ' * Each TODO(lab N.M) is one exercise; labs/%s/README.md explains them. */\n' "$(basename "$lab_dir")"
      cat "$out.body"; } > "$out"
  else
    { if head -n 1 "$out.body" | grep -q '^#!'; then head -n 1 "$out.body"; fi
      printf '# Lab copy of %s (made by shared/scripts/labgen.sh): write your part here.\n' "$src"
      printf '# Each TODO(lab N.M) is one exercise; labs/%s/README.md explains them.\n' "$(basename "$lab_dir")"
      if head -n 1 "$out.body" | grep -q '^#!'; then tail -n +2 "$out.body"; else cat "$out.body"; fi
    } > "$out"
    chmod --reference="$src" "$out"
  fi
  rm -f "$out.body"
done <<<"$sources"
[ $status -eq 0 ] || exit $status

# recorded FILE: the hash .generated holds for FILE (empty when none).
recorded() { if [ -f "$manifest" ]; then awk -v f="$1" '$2 == f { print $1 }' "$manifest"; fi; }
hash_of() { sha256sum "$1" | awk '{ print $1 }'; }

edited=()
for new in "$stage"/*; do
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
for new in "$stage"/*; do
  [ -e "$new" ] || continue
  name=$(basename "$new")
  cmp -s "$new" "$lab_dir/$name" 2>/dev/null || cp "$new" "$lab_dir/$name"
  chmod --reference="$new" "$lab_dir/$name"
  printf '%s  %s\n' "$(hash_of "$new")" "$name" >> "$stage/.generated"
done
cp "$stage/.generated" "$manifest"
