#!/usr/bin/env bash
# docs-check.sh — runs the lessons' runnable shell blocks against a fresh stage, so a "Try it"
# block cannot rot: when the code changes and a block no longer does what the lesson shows, this
# fails and names the file and line.
#
# usage: docs-check.sh [MARKDOWN_FILE...]      (default: README.md weeks/*/README.md)
#
# A block is runnable when the line right before its fence is a marker:
#
#   <!-- docs-check: stage=N -->       N: a week number, or "newest" for the stage `make run` serves
#   ```sh                              every command must exit 0; curl gets --fail-with-body, so
#   curl -s localhost:8080/health      an HTTP error (4xx, 5xx) fails the block
#   ```
#
#   <!-- docs-check: stage=1 -->
#   ```console                         lines starting "$ " are commands (a line ending in "\", or
#   $ curl -s localhost:8080/health    one that does not parse yet, continues on the next); the
#   {"status":"ok"}                    lines up to the next "$ " are the output it must print:
#   ```                                whitespace is ignored, "..." and <placeholder> match anything
#
# The blocks of one file and one stage run in order, in one shell (a variable set by one block is
# seen by the next, as in the learner's terminal), against one server that `make run-week-N`
# starts on a free port with a database of its own (what DATABASE_URL-less `make run` would use,
# but brand-new: a fresh SQLite file, or DOCS_FRESH_DB_N's PostgreSQL database). "localhost:8080"
# in a block means that server. Every curl gets --connect-timeout and --max-time.
#
# The Makefile passes DOCS_NEWEST (the newest week) and DOCS_FRESH_DB_N / DOCS_DROP_DB_N (the
# commands that make and drop a fresh database for stage N, when it needs one). Called by
# `make docs-check` and `make test`.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

if [ $# -eq 0 ]; then set -- README.md weeks/*/README.md; fi
newest=${DOCS_NEWEST:-$(find weeks -maxdepth 1 -name '[0-9][0-9]-*' | sort | tail -1 | sed -E 's|weeks/0?([0-9]+)-.*|\1|')}
dc_tmp=$(mktemp -d /tmp/taskd-docs-XXXXXX)
dc_pid=""
dc_dropdb=""
failures=0
blocks_run=0

stop_server() {
  if [ -n "$dc_pid" ]; then
    kill -INT -- "-$dc_pid" 2>/dev/null || true
    wait "$dc_pid" 2>/dev/null || true
    dc_pid=""
  fi
  if [ -n "$dc_dropdb" ]; then
    eval "$dc_dropdb" >/dev/null 2>&1 || true
    dc_dropdb=""
  fi
}
cleanup() { stop_server; rm -rf "$dc_tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port: shared/scripts/ports.sh (below the ephemeral range).
# shellcheck source=shared/scripts/ports.sh
. "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

# start_server STAGE: `make run-week-STAGE` on a free port with a brand-new database; sets port.
start_server() {
  local stage=$1 fresh_var drop_var db url log
  port=$(free_port) || { echo "docs-check: no free port"; return 1; }
  log="$dc_tmp/run-week-$stage.log"
  fresh_var="DOCS_FRESH_DB_$stage"
  drop_var="DOCS_DROP_DB_$stage"
  if [ -n "${!fresh_var:-}" ]; then
    url=$(eval "${!fresh_var}") || { echo "docs-check: ${!fresh_var} failed"; return 1; }
    db=${url##*/}
    db=${db%%\?*}
    dc_dropdb="${!drop_var:-true} '$db'"
  else
    url="sqlite:$dc_tmp/stage-$stage.db"
  fi
  DATABASE_URL=$url PORT=$port setsid make --no-print-directory "run-week-$stage" >"$log" 2>&1 &
  dc_pid=$!
  for _ in $(seq 300); do
    command curl -sf --max-time 2 "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
    kill -0 "$dc_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "docs-check: stage $stage did not answer /health on port $port within 30 s"
  echo "---- make run-week-$stage output ----"
  tail -20 "$log"
  return 1
}

# ---- 1. find the runnable blocks ----
# Each block becomes $dc_tmp/blocks/NNNN.{meta,body}: meta is "FILE<TAB>FENCE_LINE<TAB>STAGE<TAB>KIND",
# body has one "LINE<TAB>TEXT" per line of the block.
mkdir -p "$dc_tmp/blocks"
nblocks=0
marker_re='^<!-- docs-check: stage=([0-9]+|newest) -->$'
for f in "$@"; do
  [ -f "$f" ] || { echo "docs-check: no such file: $f"; failures=$((failures + 1)); continue; }
  n=0
  pending=""   # stage of a marker seen on the previous line
  in_block=0
  id=""
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    if [ "$in_block" = 1 ]; then
      if [[ $line =~ ^\`\`\` ]]; then in_block=0; continue; fi
      printf '%s\t%s\n' "$n" "$line" >>"$dc_tmp/blocks/$id.body"
      continue
    fi
    if [ -n "$pending" ]; then
      if [[ $line =~ ^\`\`\`(sh|console)$ ]]; then
        nblocks=$((nblocks + 1))
        id=$(printf '%04d' "$nblocks")
        printf '%s\t%s\t%s\t%s\n' "$f" "$n" "$pending" "${BASH_REMATCH[1]}" >"$dc_tmp/blocks/$id.meta"
        : >"$dc_tmp/blocks/$id.body"
        in_block=1
      else
        echo "docs-check: FAILED $f:$((n - 1)): the marker must be followed by a \`\`\`sh or \`\`\`console fence"
        failures=$((failures + 1))
      fi
      pending=""
      continue
    fi
    if [[ $line =~ $marker_re ]]; then
      pending=${BASH_REMATCH[1]}
      [ "$pending" = newest ] && pending=$newest
    fi
  done <"$f"
  [ "$in_block" = 0 ] || { echo "docs-check: FAILED $f: block $id is never closed"; failures=$((failures + 1)); }
done

# ---- 2. run them ----
# Everything the blocks' commands can see is named dc_* so that a block's own variables (i,
# CURSOR, TOKEN...) cannot clobber the runner's.

# curl as the blocks see it: bounded, and failing on HTTP errors in sh blocks.
curl() {
  if [ "${dc_kind:-}" = sh ]; then
    command curl --connect-timeout 5 --max-time 10 --fail-with-body "$@"
  else
    command curl --connect-timeout 5 --max-time 10 "$@"
  fi
}

# dc_pattern: the expected output (stdin) as a bash pattern with whitespace removed, glob
# characters escaped and "..." / <placeholder> turned into "*".
dc_pattern() {
  tr -d ' \t\r\n' | sed -e 's/[][\\*?]/\\&/g' -e 's/\.\.\./*/g' -e 's/<[a-z_-]*>/*/g'
}

# dc_run_command FILE LINE TEXT EXPECTED_FILE: runs TEXT in this shell; 0 when it exits 0 and,
# for a console command with shown output, prints what the lesson shows.
dc_run_command() {
  local dc_file=$1 dc_line=$2 dc_text=$3 dc_expect=$4 dc_rc dc_got dc_pat
  dc_text=${dc_text//localhost:8080/localhost:$port}
  dc_text=${dc_text//127.0.0.1:8080/127.0.0.1:$port}
  eval "$dc_text" >"$dc_tmp/out" 2>&1 </dev/null
  dc_rc=$?
  if [ "$dc_rc" != 0 ]; then
    echo "docs-check: FAILED $dc_file:$dc_line: exit status $dc_rc"
    echo "  command: $3" | head -5
    echo "  output:"
    head -20 "$dc_tmp/out" | awk '{ print "    " $0 }'
    return 1
  fi
  if [ -s "$dc_expect" ]; then
    dc_got=$(tr -d ' \t\r\n' <"$dc_tmp/out")
    dc_pat=$(dc_pattern <"$dc_expect")
    # shellcheck disable=SC2053 # the right side is a pattern on purpose
    if [[ $dc_got != $dc_pat ]]; then
      echo "docs-check: FAILED $dc_file:$dc_line: the output is not what the lesson shows"
      echo "  command: $3" | head -5
      echo "  lesson shows:"
      sed 's/^/    /' "$dc_expect"
      echo "  got:"
      head -20 "$dc_tmp/out" | awk '{ print "    " $0 }'
      return 1
    fi
  fi
  return 0
}

# dc_complete TEXT: 0 when TEXT is a whole command (no trailing "\", and bash can parse it).
dc_complete() {
  [[ $1 != *\\ ]] && bash -n -c "$1" 2>/dev/null
}

# dc_run_block ID: splits the block into commands and runs them in order; stops at the first that fails.
dc_run_block() {
  local dc_file dc_text="" dc_start=0 dc_ln dc_l dc_expect="$dc_tmp/expect"
  IFS=$'\t' read -r dc_file _ _ dc_kind <"$dc_tmp/blocks/$1.meta"
  : >"$dc_expect"
  while IFS=$'\t' read -r dc_ln dc_l; do
    if [ "$dc_kind" = sh ]; then
      if [ -z "$dc_text" ]; then
        [[ $dc_l =~ ^[[:space:]]*(#.*)?$ ]] && continue
        dc_start=$dc_ln
        dc_text=$dc_l
      else
        dc_text+=$'\n'$dc_l
      fi
      if dc_complete "$dc_text"; then
        dc_run_command "$dc_file" "$dc_start" "$dc_text" /dev/null || return 1
        dc_text=""
      fi
    else # console: "$ " starts a command, the lines after it are its output
      if [ -n "$dc_text" ] && ! dc_complete "$dc_text"; then
        dc_text+=$'\n'$dc_l
      elif [[ $dc_l == '$ '* ]]; then
        if [ -n "$dc_text" ]; then
          dc_run_command "$dc_file" "$dc_start" "$dc_text" "$dc_expect" || return 1
        fi
        dc_start=$dc_ln
        dc_text=${dc_l#\$ }
        : >"$dc_expect"
      elif [ -n "$dc_text" ]; then
        printf '%s\n' "$dc_l" >>"$dc_expect"
      fi
    fi
  done <"$dc_tmp/blocks/$1.body"
  if [ -n "$dc_text" ]; then
    if ! dc_complete "$dc_text"; then
      echo "docs-check: FAILED $dc_file:$dc_start: the command is cut off by the end of the block"
      return 1
    fi
    if [ "$dc_kind" = sh ]; then
      dc_run_command "$dc_file" "$dc_start" "$dc_text" /dev/null || return 1
    else
      dc_run_command "$dc_file" "$dc_start" "$dc_text" "$dc_expect" || return 1
    fi
  fi
  return 0
}

group=""
group_failed=0
port=""
for meta in "$dc_tmp"/blocks/*.meta; do
  [ -e "$meta" ] || break
  id=$(basename "$meta" .meta)
  IFS=$'\t' read -r file fence stage kind <"$meta"
  if [ "$file $stage" != "$group" ]; then
    stop_server
    group="$file $stage"
    group_failed=0
    echo "docs-check: $file, stage $stage"
    if ! start_server "$stage"; then
      echo "docs-check: FAILED $file:$fence: could not start stage $stage"
      failures=$((failures + 1))
      group_failed=1
    fi
  fi
  # No server, nothing to run against. A failed block does not stop the next ones: each failure
  # is reported, even though one may follow from another (a block that creates what the next reads).
  if [ "$group_failed" = 1 ]; then
    echo "docs-check: skipped $file:$fence (stage $stage did not start)"
    continue
  fi
  blocks_run=$((blocks_run + 1))
  if ! dc_run_block "$id"; then
    echo "  (in the $kind block at $file:$fence, stage $stage)"
    failures=$((failures + 1))
  fi
done
stop_server

if [ "$failures" -gt 0 ]; then
  echo "docs-check: $failures failed, $blocks_run of $nblocks runnable blocks run"
  exit 1
fi
echo "docs-check: all $nblocks runnable blocks of $# files did what their lesson shows"
