#!/usr/bin/env bash
# test-labgen.sh — labgen.sh's regression test (`make test` runs it): a good marker becomes a
# TODO, and every kind of bad marker makes labgen.sh, and so `make labs`, fail naming file:line.
# Regenerating never destroys learner work: an edited lab file is refused (named, left as it is)
# unless FORCE=1, which backs it up first; an unedited one is simply regenerated. Non-C lab files
# (lab/files.txt, `#` markers) are cut, protected and checked the same way.
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

# LAB_SOLVED keeps the named exercises' reference code, without markers (lab-check grades such a
# copy with the first exercise done).
rm -rf "$tmp/solved"
if ! LAB_SOLVED="1.1" bash "$here/shared/scripts/labgen.sh" "$tmp/week" "$tmp/solved" ||
  ! grep -q '^    return 1;$' "$tmp/solved/good.c" || grep -q 'LAB:\|TODO(lab 1\|return 0;' "$tmp/solved/good.c"; then
  echo "test-labgen: FAIL: LAB_SOLVED=1.1 did not keep 1.1's reference code: $(cat "$tmp/solved/good.c")"
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

# Non-C lab files (decision 0027): declared in lab/files.txt, markers as `#` lines.
# nonc_week: a week with one .c lab file and a declared shell script and unit file.
nonc_week() {
  rm -rf "$tmp/nweek" "$tmp/nlab" && mkdir -p "$tmp/nweek/src" "$tmp/nweek/lab" "$tmp/nweek/ops" "$tmp/nweek/deploy"
  printf 'int f(void)\n{\n    /* LAB:BEGIN 9.1 One. */\n    return 1;\n    /* LAB:END return 0; */\n}\n' >"$tmp/nweek/src/f.c"
  printf '#!/usr/bin/env bash\nset -eu\n  # LAB:BEGIN 9.2 Say hello.\n  echo hello\n  # LAB:END echo todo\necho done\n' >"$tmp/nweek/ops/s.sh"
  chmod 755 "$tmp/nweek/ops/s.sh"
  printf '[Service]\nExecStart=/bin/true\n# LAB:BEGIN 9.3 Harden it.\nNoNewPrivileges=yes\n# LAB:END\n' >"$tmp/nweek/deploy/u.service"
  printf '# declared non-C lab files\nops/s.sh\ndeploy/u.service\n' >"$tmp/nweek/lab/files.txt"
}
nonc_week
if ! bash "$here/shared/scripts/labgen.sh" "$tmp/nweek" "$tmp/nlab"; then
  fail "labgen.sh failed on a week with declared non-C lab files"
else
  want=$(printf '#!/usr/bin/env bash\n# Lab copy of %s/ops/s.sh (made by shared/scripts/labgen.sh): write your part here.\n# Each TODO(lab N.M) is one exercise; labs/nlab/README.md explains them.\nset -eu\n  # TODO(lab 9.2): Say hello.\n  echo todo\necho done' "$tmp/nweek")
  [ "$(cat "$tmp/nlab/s.sh")" = "$want" ] || fail "the script's lab copy is not its TODO and placeholder under its #! line: $(cat "$tmp/nlab/s.sh")"
  [ -x "$tmp/nlab/s.sh" ] || fail "the script's lab copy lost its executable mode"
  bash -n "$tmp/nlab/s.sh" || fail "the script's lab copy is not valid bash"
  if ! grep -qx '# TODO(lab 9.3): Harden it.' "$tmp/nlab/u.service" || grep -q 'NoNewPrivileges\|LAB:' "$tmp/nlab/u.service"; then
    fail "the unit's lab copy does not have its TODO with the block (and an empty placeholder) cut: $(cat "$tmp/nlab/u.service")"
  fi
  [ "$(head -n 1 "$tmp/nlab/u.service")" = "# Lab copy of $tmp/nweek/deploy/u.service (made by shared/scripts/labgen.sh): write your part here." ] ||
    fail "a file without #! does not start with the lab header"
  grep -q 'TODO(lab 9.1)' "$tmp/nlab/f.c" || fail "the .c file beside non-C files was not cut"
  for f in f.c s.sh u.service; do grep -q "  $f\$" "$tmp/nlab/.generated" || fail ".generated does not record $f"; done
fi
rm -rf "$tmp/nsolved"
if ! LAB_SOLVED="9.2 9.3" bash "$here/shared/scripts/labgen.sh" "$tmp/nweek" "$tmp/nsolved" ||
  ! grep -qx '  echo hello' "$tmp/nsolved/s.sh" || grep -q 'LAB:\|TODO(lab 9.2)\|echo todo' "$tmp/nsolved/s.sh" ||
  ! grep -qx 'NoNewPrivileges=yes' "$tmp/nsolved/u.service"; then
  fail "LAB_SOLVED did not keep the non-C files' reference lines"
fi
# An edited non-C lab file is the learner's work like a .c one.
echo 'echo mine' >>"$tmp/nlab/s.sh"
sed -i 's/Say hello./Say hello twice./' "$tmp/nweek/ops/s.sh"
if err=$(bash "$here/shared/scripts/labgen.sh" "$tmp/nweek" "$tmp/nlab" 2>&1); then
  fail "labgen.sh overwrote an edited non-C lab file (exit 0)"
elif [[ "$err" != *"$tmp/nlab/s.sh"* ]]; then
  fail "the refusal does not name the edited script: $err"
fi
# Bad `#` markers name FILE:LINE; a declared file that is missing, or holds no marker, fails.
nonc_week
printf 'a=1\n# LAB:BEGIN 9.2 x\necho\n' >"$tmp/nweek/ops/s.sh"
err=$(bash "$here/shared/scripts/labgen.sh" "$tmp/nweek" "$tmp/nlab" 2>&1) && fail "an unclosed # LAB:BEGIN was accepted"
[[ "$err" == *"ops/s.sh:2:"* ]] || fail "an unclosed # LAB:BEGIN is not reported as s.sh:2: $err"
nonc_week
printf 'ops/s.sh\nops/gone.sh\n' >"$tmp/nweek/lab/files.txt"
err=$(bash "$here/shared/scripts/labgen.sh" "$tmp/nweek" "$tmp/nlab" 2>&1) && fail "a declared file that does not exist was accepted"
[[ "$err" == *"ops/gone.sh"* ]] || fail "the missing declared file is not named: $err"
nonc_week
printf 'echo no markers\n' >"$tmp/nweek/deploy/u.service"
bash "$here/shared/scripts/labgen.sh" "$tmp/nweek" "$tmp/nlab" 2>/dev/null && fail "a declared file without markers was accepted"
# Two lab files may not share a name in the lab directory.
nonc_week
cp "$tmp/nweek/ops/s.sh" "$tmp/nweek/deploy/s.sh"
printf 'ops/s.sh\ndeploy/s.sh\n' >"$tmp/nweek/lab/files.txt"
err=$(bash "$here/shared/scripts/labgen.sh" "$tmp/nweek" "$tmp/nlab" 2>&1) && fail "two lab files named s.sh were accepted"
[[ "$err" == *"would both be"* ]] || fail "the name clash is not explained: $err"

[ $failures -eq 0 ] && echo "test-labgen: labgen.sh rejects bad markers, keeps good ones, never overwrites edited labs without FORCE=1 and a backup"
[ $failures -eq 0 ]
