#!/usr/bin/env bash
# test-labgen.sh — labgen.sh's regression test (`make test` runs it): a good marker becomes a
# TODO, and every kind of bad marker makes labgen.sh, and so `make labs`, fail naming file:line.
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

[ $failures -eq 0 ] && echo "test-labgen: labgen.sh rejects bad markers and keeps good ones"
[ $failures -eq 0 ]
