#!/usr/bin/env bash
# test-labgen.sh — labgen.sh's regression test (`make test` runs it): a good marker becomes a
# TODO, and every kind of bad marker makes labgen.sh, and so `make labs`, fail naming file:line.
# Regenerating never destroys learner work: an edited lab file is refused (named, left as it is)
# unless FORCE=1, which backs it up first; an unedited one is simply regenerated.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# expect_fail NAME LINE CONTENT: labgen on a week whose only file is CONTENT must exit non-zero
# and say NAME.c:LINE.
expect_fail() {
  local name=$1 line=$2 content=$3 err
  rm -rf "$tmp/week" "$tmp/lab" && mkdir -p "$tmp/week/src"
  printf '%b' "$content" >"$tmp/week/src/$name.c"
  if err=$(bash "$here/shared/scripts/labgen.sh" "$tmp/week" "$tmp/lab" 2>&1); then
    echo "test-labgen: FAIL: $name: labgen.sh exited 0"
    failures=$((failures + 1))
  elif [[ "$err" != *"$name.c:$line:"* ]]; then
    echo "test-labgen: FAIL: $name: the error does not name $name.c:$line: $err"
    failures=$((failures + 1))
  fi
}

expect_fail unclosed 2 'int a;\n/* LAB:BEGIN 1.1 Do it */\nint b;\n'
expect_fail end_without_begin 2 'int a;\n/* LAB:END return 0; */\n'
expect_fail nested 4 'int f(void)\n{\n/* LAB:BEGIN 1.1 x */\n/* LAB:BEGIN 1.2 y */\n/* LAB:END */\n/* LAB:END */\n}\n'

# A good marker still becomes its TODO and the placeholder statement.
rm -rf "$tmp/week" "$tmp/lab" && mkdir -p "$tmp/week/src"
printf 'int f(void)\n{\n    /* LAB:BEGIN 1.1 Return one. */\n    return 1;\n    /* LAB:END return 0; */\n}\n' >"$tmp/week/src/good.c"
if ! bash "$here/shared/scripts/labgen.sh" "$tmp/week" "$tmp/lab" ||
  ! grep -q 'TODO(lab 1.1): Return one.' "$tmp/lab/good.c" || ! grep -q '^    return 0;$' "$tmp/lab/good.c" ||
  grep -q 'return 1;' "$tmp/lab/good.c"; then
  echo "test-labgen: FAIL: a good marker did not become its TODO and placeholder"
  failures=$((failures + 1))
fi

fail() { echo "test-labgen: FAIL: $*"; failures=$((failures + 1)); }

# An unedited lab file follows its reference: a changed marker regenerates it without complaint.
sed -i 's/Return one./Return one, now./' "$tmp/week/src/good.c"
if ! bash "$here/shared/scripts/labgen.sh" "$tmp/week" "$tmp/lab" 2>/dev/null ||
  ! grep -q 'Return one, now.' "$tmp/lab/good.c"; then
  fail "an unedited lab file was not regenerated"
fi
[ -f "$tmp/lab/.generated" ] || fail "labgen.sh wrote no .generated record"

# The learner edits the file; the reference changes again. Without FORCE labgen refuses, names
# the file, exits non-zero and writes nothing.
printf 'int mine(void) { return 42; }\n' >>"$tmp/lab/good.c"
cp "$tmp/lab/good.c" "$tmp/mine.c"
sed -i 's/Return one, now./Return one, again./' "$tmp/week/src/good.c"
if err=$(bash "$here/shared/scripts/labgen.sh" "$tmp/week" "$tmp/lab" 2>&1); then
  fail "labgen.sh overwrote an edited lab file (exit 0)"
elif [[ "$err" != *"$tmp/lab/good.c"* ]] || [[ "$err" != *"FORCE=1"* ]]; then
  fail "the refusal does not name the file and FORCE=1: $err"
fi
cmp -s "$tmp/mine.c" "$tmp/lab/good.c" || fail "the edited lab file changed although labgen refused"

# A file that already holds exactly the new output is not an edit, whatever .generated says.
rm -rf "$tmp/lab2" && mkdir -p "$tmp/lab2"
bash "$here/shared/scripts/labgen.sh" "$tmp/week" "$tmp/lab2" 2>/dev/null || fail "first generation failed"
rm -f "$tmp/lab2/.generated"
bash "$here/shared/scripts/labgen.sh" "$tmp/week" "$tmp/lab2" 2>/dev/null ||
  fail "a lab file equal to the new output was refused"

# FORCE=1 regenerates, after saving the edited file under .backup/.
if ! FORCE=1 bash "$here/shared/scripts/labgen.sh" "$tmp/week" "$tmp/lab" 2>/dev/null; then
  fail "FORCE=1 labgen.sh failed"
else
  grep -q 'Return one, again.' "$tmp/lab/good.c" || fail "FORCE=1 did not regenerate the file"
  backups=("$tmp"/lab/.backup/good.c.*)
  if [ ! -f "${backups[0]}" ] || ! cmp -s "${backups[0]}" "$tmp/mine.c"; then
    fail "FORCE=1 did not keep the edited file in .backup/"
  fi
fi

[ $failures -eq 0 ] && echo "test-labgen: labgen.sh rejects bad markers, keeps good ones, never overwrites edited labs without FORCE=1 and a backup"
[ $failures -eq 0 ]
