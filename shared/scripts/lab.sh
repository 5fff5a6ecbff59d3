#!/usr/bin/env bash
# lab.sh — the learner's side of the lab runner: hints, solutions, watch mode and progress.
#
# usage: lab.sh hint N | solution N EX | watch N | progress | lesson-done N
#   hint N         the next tier (Nudge, then Idea, then Shape) of the first exercise of lab N
#                  not yet passing, from weeks/NN/lab/EX.md; the tier reached is kept in
#                  $BUILD/lab-state/hints-N
#   solution N EX  the reference code of exercise EX (its LAB:BEGIN..END block), only once every
#                  test of EX passes on the lab files as they are now: it builds the lab and runs
#                  EX's tests: globs itself (LAB_STAGE, LAB_UNIT, LAB_API from the Makefile), so
#                  a `make lab-N` older than the files cannot show or hide it
#   watch N        re-grades lab N (quietly) whenever a file in labs/NN-* is saved and shows the
#                  score, the current exercise and its first failure; h shows the next hint, q
#                  quits (keys pressed while it grades are acted on when the run is over). It
#                  waits with inotifywait and polls every 2 s where inotify cannot see saves (not
#                  installed, or a Windows or network file system such as WSL2's /mnt/c)
#   progress       one screen: every week's lesson (read?) and lab (score as a bar, exercises)
#   lesson-done N  marks week N's lesson as read (for progress)
# Everything about exercises comes from shared/scripts/exercises.sh; results from the last
# `make lab-N` ($BUILD/results/lab-N/*.json), except solution's, which grades on the spot.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
# LAB_ROOT: the tree with weeks/, labs/ and build/ (the repository; a fixture in the tests).
cd "${LAB_ROOT:-$here}" || exit 2
build=${BUILD:-build}
make=${MAKE:-make}
ex="$here/shared/scripts/exercises.sh"
state="$build/lab-state"
TIERS=(Nudge Idea Shape)

die() { echo "lab: $*" >&2; exit 2; }
week_of() {
  local d
  [[ "$1" =~ ^[0-9]+$ ]] || die "'$1' is not a week number"
  for d in weeks/"$(printf '%02d' "$((10#$1))")"-*; do [ -d "$d" ] && { echo "$d"; return; }; done
  die "there is no week $1"
}
has_data() { [ -n "$(bash "$ex" list "$1")" ]; }
results_of() { echo "$build/results/lab-$1"; }
graded() { compgen -G "$(results_of "$1")/*.json" >/dev/null; }

# first_todo N WEEK: "id<TAB>title" of the first exercise not passing (the first one when the lab
# was never graded); nothing when every exercise passes.
first_todo() {
  if graded "$1"; then
    bash "$ex" status "$2" "$(results_of "$1")" | awk -F'\t' '$3 == "todo" { print $1 "\t" $2; exit }'
  else
    bash "$ex" list "$2" | head -n 1 | cut -f1,2
  fi
}

cmd_hint() {
  local n=$1 week id title tier file
  week=$(week_of "$n")
  has_data "$week" || { echo "Lab $n has no hints yet: labs/$(basename "$week")/README.md explains each exercise."; return 0; }
  IFS=$'\t' read -r id title < <(first_todo "$n" "$week")
  if [ -z "${id:-}" ]; then
    echo "Every exercise of lab $n passes: no hint needed. 'make solution-$n EX=N.M' shows the reference."
    return 0
  fi
  mkdir -p "$state"
  file="$state/hints-$n"
  touch "$file"
  # The tiers already shown, per exercise: "id count" lines, compared as strings.
  tier=$(awk -v id="$id" '$1 "" == id "" { t = $2 } END { print t + 0 }' "$file")
  [ "$tier" -ge 3 ] && tier=2
  echo "Hint $((tier + 1))/3 for exercise $id — $title (${TIERS[$tier]}):"
  echo
  bash "$ex" tier "$week" "$id" "${TIERS[$tier]}" | sed 's/^/  /'
  echo
  # In watch mode (WATCHING=1) the next hint is a key away, and saving grades.
  if [ "$tier" -lt 2 ] && [ "${WATCHING:-0}" = 1 ]; then
    echo "Press h again for the ${TIERS[$((tier + 1))]}, q to quit; save a file to grade again."
  elif [ "$tier" -lt 2 ]; then
    echo "Run 'make hint-$n' again for the ${TIERS[$((tier + 1))]}; 'make lab-$n' to grade."
  else
    echo "That was the last hint for $id. Once its tests pass, 'make solution-$n EX=$id' shows the reference."
  fi
  awk -v id="$id" -v t="$((tier + 1))" '$1 "" != id "" { print } END { print id, t }' "$file" >"$file.tmp" && mv "$file.tmp" "$file"
}

# grade_now N WEEK EX DIR: builds lab N from the files as they are now and runs exercise EX's
# tests (each tests: glob of its data file, with --filter), the results into DIR as
# <suite>.json. The binaries come from the Makefile: LAB_STAGE, LAB_UNIT and LAB_API (the
# black-box suites, weeks 1..N), with the suites' environment already set. Returns 1 when the
# lab does not build.
grade_now() {
  local n=$1 week=$2 want=$3 dir=$4 tests spec suite glob bin i=0 api
  local -a specs
  rm -rf "$dir" && mkdir -p "$dir/runs"
  if ! "$make" -s "lab-build-$n" >"$dir/build.log" 2>&1; then return 1; fi
  tests=$(bash "$ex" list "$week" | awk -F'\t' -v id="$want" '$1 "" == id "" { print $5 }')
  read -ra specs <<<"$tests"
  for spec in "${specs[@]}"; do
    suite=${spec%%:*} glob=${spec#*:} bin=""
    if [ "$suite" = unit ]; then
      bin=${LAB_UNIT:-}
    else
      for api in ${LAB_API:-}; do
        [ "api-$(basename "$(dirname "$(dirname "$api")")")" = "$suite" ] && bin=$api
      done
    fi
    [ -n "$bin" ] || continue
    i=$((i + 1))
    TASKD_TEST_RUN="s$$" TASKD_BIN=${LAB_STAGE:-} TK_SUITE="lab-$n/solution" TK_RESULTS="$dir/runs/$suite.$i.json" \
      timeout "${SUITE_TIMEOUT_SECONDS:-900}" "$bin" --jobs=2 --filter="$glob" >>"$dir/suites.log" 2>&1
  done
  # Test databases (week 2 on) are tagged with this run and dropped, as run-suites.sh does.
  if [ -n "${TK_FRESH_DB_CMD:-}" ]; then
    TASKD_TEST_RUN="s$$" bash "$here/shared/scripts/services.sh" prune-test-dbs >/dev/null 2>&1 || true
  fi
  # One file per suite, as `make lab-N` writes them, for exercises.sh status.
  for suite in $(find "$dir/runs" -name '*.json' -printf '%f\n' | sed 's/\.[0-9]*\.json$//' | sort -u); do
    jq -s '{tests: (map(.tests // []) | add | unique_by(.name))}' "$dir/runs/$suite".*.json >"$dir/$suite.json"
  done
  return 0
}

cmd_solution() {
  local n=$1 want=$2 week st dir
  [ -n "$want" ] || die "which exercise? make solution-$n EX=$n.1"
  week=$(week_of "$n")
  local -a sources
  mapfile -t sources < <(bash "$(dirname "$0")/lab-sources.sh" "$week")
  grep -qF "LAB:BEGIN $want " "${sources[@]}" || die "lab $n has no exercise $want"
  if has_data "$week"; then
    # Graded now, from the files as they are: the last `make lab-N` may be older than them.
    dir="$state/solution-$n"
    echo "Grading exercise $want's tests on your files as they are now ..."
    if ! grade_now "$n" "$week" "$want" "$dir"; then
      echo "Your lab $n does not build: 'make lab-$n' shows the errors. The reference stays hidden until $want passes."
      return 0
    fi
    st=$(bash "$ex" status "$week" "$dir" | awk -F'\t' -v id="$want" '$1 "" == id "" { print $3 "\t" $4 "\t" $5 "\t" $6 }')
    local state_ failed total first
    IFS=$'\t' read -r state_ failed total first <<<"$st"
    if [ "${state_:-}" != "done" ]; then
      if [ "${total:-0}" -eq 0 ]; then
        echo "Exercise $want's tests did not run (see $dir/suites.log)."
      else
        echo "Exercise $want does not pass yet: $failed of its $total tests fail on your files as they are now."
      fi
      [ -n "${first:-}" ] && echo "First failure: $first"
      echo "The reference stays hidden until it passes: 'make hint-$n' for a hint."
      return 0
    fi
    echo "All $total of exercise $want's tests pass on your files as they are now."
    echo
  else
    # Without exercise data, the lab as a whole must pass.
    if ! graded "$n" || [ "$(jq -s 'map(.failed) | add' "$(results_of "$n")"/*.json)" != 0 ]; then
      echo "Lab $n does not pass every test yet: the reference stays hidden until it does."
      return 0
    fi
  fi
  # A .c file's markers are /* LAB:BEGIN */ comments, a non-C lab file's `# LAB:BEGIN` lines.
  awk -v id="$want" '
    /(\/\*|^[ \t]*#) LAB:BEGIN / && !on { t = $0; sub(/.*LAB:BEGIN /, "", t); sub(/ .*/, "", t)
      if (t "" == id "") { on = 1; printf "Reference for exercise %s (%s:%d):\n\n", id, FILENAME, FNR; print; next } }
    on { print; if ($0 ~ /(\/\*|^[ \t]*#) LAB:END/) exit }
  ' "${sources[@]}"
  echo
  echo "Compare it with yours: where it is shorter or handles a case you missed, find out why."
}

# The lab files' signature, for polling.
signature() { find "$1" -maxdepth 1 -type f ! -name README.md -printf '%T@ %s %p\n' 2>/dev/null | sort | md5sum; }

# Can inotify see saves in DIR? Not without inotifywait, and not on file systems whose changes
# come from elsewhere (WSL2's drvfs/9p mounts of Windows drives, network file systems).
inotify_works() {
  [ "${WATCH_POLL:-0}" = 1 ] && return 1
  command -v inotifywait >/dev/null 2>&1 || return 1
  case "$(stat -f -c %T "$1" 2>/dev/null)" in
    9p | v9fs | drvfs | fuseblk | cifs | smb2 | nfs | nfs4 | fuse*) return 1 ;;
  esac
}

# show_watch N WEEK OUT: the watch screen after a grading run whose output is OUT.
show_watch() {
  local n=$1 week=$2 out=$3 id title st failed total first
  grep -E "^lab-$n " "$out" || true
  if grep -q "the build failed" "$out"; then
    echo
    echo "The build failed:"
    grep -E 'error|warning' "$out" | head -n 10
    return
  fi
  has_data "$week" || { grep -m1 '  FAIL ' "$out" || true; return; }
  IFS=$'\t' read -r id title st failed total first < <(bash "$ex" status "$week" "$(results_of "$n")" |
    awk -F'\t' '$3 == "todo" { print; exit }')
  if [ -z "${id:-}" ]; then
    echo "Every exercise passes: lab $n is done."
  else
    echo
    echo "Current exercise: $id — $title ($failed of $total of its tests failing)"
    echo "First failure:    $first"
  fi
}

cmd_watch() {
  local n=$1 week lab mode out key pid sig changed runs=0 grader want_hint want_quit
  week=$(week_of "$n")
  lab="labs/$(basename "$week")"
  [ -d "$lab" ] || die "no $lab"
  if inotify_works "$lab"; then mode="inotify"; else mode="polling every 2 s"; fi
  out="$build/lab-state/watch-$n.out"
  mkdir -p "$build/lab-state"
  local tty=0
  [ -t 0 ] && tty=1
  while :; do
    # Start watching before grading, so a save during the grading is not missed.
    changed=0 pid=""
    if [ "$mode" = inotify ]; then
      inotifywait -q -q -e close_write,moved_to,create,delete "$lab" &
      pid=$!
    else
      sig=$(signature "$lab")
    fi
    [ "$tty" = 1 ] && clear
    echo "watch-lab-$n: grading $lab ... (press h for a hint, q to quit: done after this run)"
    # Graded in the background, its stdin away from the terminal, so the keys pressed meanwhile
    # are read here and acted on once the run is over (issue 10's trial: they were lost).
    if [ -n "${WATCH_GRADE:-}" ]; then bash -c "$WATCH_GRADE"; else "$make" -s "lab-$n"; fi \
      </dev/null >"$out" 2>&1 &
    grader=$!
    want_hint=0 want_quit=0
    while kill -0 "$grader" 2>/dev/null; do
      key=""
      if [ "$tty" = 1 ]; then read -rsn1 -t 1 key || true; else sleep 1; fi
      case "$key" in
        h) want_hint=1 ;;
        q) want_quit=1 ;;
      esac
    done
    wait "$grader"
    runs=$((runs + 1))
    [ "$tty" = 1 ] && clear
    echo "watch-lab-$n: watching $lab ($mode). Save a file to grade again; press h for a hint, q to quit."
    echo
    show_watch "$n" "$week" "$out"
    if [ "$want_hint" = 1 ]; then echo; WATCHING=1 cmd_hint "$n"; fi
    if [ "$want_quit" = 1 ] || { [ -n "${WATCH_MAX_RUNS:-}" ] && [ "$runs" -ge "$WATCH_MAX_RUNS" ]; }; then
      [ -n "$pid" ] && kill "$pid" 2>/dev/null
      return 0
    fi
    while [ $changed = 0 ]; do
      key=""
      if [ "$tty" = 1 ]; then read -rsn1 -t 2 key || true; else sleep 2; fi
      case "$key" in
        h) echo; WATCHING=1 cmd_hint "$n" ;;
        q) [ -n "$pid" ] && kill "$pid" 2>/dev/null; return 0 ;;
      esac
      if [ -n "$pid" ]; then
        kill -0 "$pid" 2>/dev/null || changed=1
      elif [ "$(signature "$lab")" != "$sig" ]; then
        changed=1
      fi
    done
    [ -n "$pid" ] && wait "$pid" 2>/dev/null
  done
}

bar() { # bar PERCENT WIDTH
  local full=$(($1 * $2 / 100))
  printf '['; printf '%*s' "$full" '' | tr ' ' '#'; printf '%*s' "$(($2 - full))" '' | tr ' ' '-'; printf ']'
}

cmd_progress() {
  local d n lesson points max pct done_ count line sum=0 weeks=0 lessons=0 read_=0 next=""
  echo "Your progress ('make lesson-done-N' marks a lesson read; 'make lab-N' grades a lab)"
  echo
  printf '%-4s %-16s %-8s %-46s %s\n' week "" lesson "lab (last make lab-N)" exercises
  for d in weeks/[0-9][0-9]-*; do
    n=$(basename "$d"); n=$((10#${n%%-*}))
    if [ -f "$state/lesson-$n" ]; then lesson="read"; read_=$((read_ + 1)); else lesson="-"; fi
    lessons=$((lessons + 1))
    [ -d "$d/lab" ] && weeks=$((weeks + 1))
    count="-"
    if [ ! -d "$d/lab" ]; then
      # A week still being built: its lesson can be read, it has no lab (no lab/ exercise data) yet.
      printf '%-4s %-16s %-8s %-46s %s\n' "$n" "$(basename "$d")" "$lesson" "no lab yet (the week is being built)" "-"
      continue
    fi
    if graded "$n"; then
      read -r points max < <(jq -rs '[(map(.points) | add // 0), (map(.max_points) | add // 0)] | @tsv' "$(results_of "$n")"/*.json)
      pct=0
      [ "${max:-0}" -gt 0 ] && pct=$((points * 100 / max))
      sum=$((sum + pct))
      line="$(bar "$pct" 20) $(printf '%3d%% %5s/%-5s' "$pct" "$points" "$max")"
      if has_data "$d"; then
        done_=$(bash "$ex" status "$d" "$(results_of "$n")" | awk -F'\t' '$3 == "done"' | wc -l)
        count="$done_/$(bash "$ex" list "$d" | wc -l) done"
      fi
      [ -z "$next" ] && [ "$pct" -lt 100 ] && next="make lab-$n (lab $n is at $pct%)"
    else
      line="not started"
      [ -z "$next" ] && next=$([ "$lesson" = read ] && echo "make lab-$n" || echo "read weeks/$(basename "$d")/README.md, then make lesson-done-$n")
    fi
    printf '%-4s %-16s %-8s %-46s %s\n' "$n" "$(basename "$d")" "$lesson" "$line" "$count"
  done
  [ "$weeks" -gt 0 ] || return 0
  echo
  printf 'Labs overall %s %d%%   lessons read: %d/%d\n' "$(bar $((sum / weeks)) 30)" $((sum / weeks)) "$read_" "$lessons"
  [ -n "$next" ] || next="every lab is at 100%: extend one (the last section of each lab README)"
  echo "Next: $next"
}

cmd=${1:-}
case "$cmd" in
  hint) [ $# -eq 2 ] || die "usage: lab.sh hint N"; cmd_hint "$2" ;;
  solution) [ $# -ge 2 ] || die "usage: lab.sh solution N EX"; cmd_solution "$2" "${3:-}" ;;
  watch) [ $# -eq 2 ] || die "usage: lab.sh watch N"; cmd_watch "$2" ;;
  progress) cmd_progress ;;
  lesson-done)
    [ $# -eq 2 ] || die "usage: lab.sh lesson-done N"
    week_of "$2" >/dev/null
    mkdir -p "$state" && touch "$state/lesson-$((10#$2))" && echo "Week $((10#$2))'s lesson marked as read. 'make progress' shows where you are." ;;
  *) die "usage: lab.sh hint N | solution N EX | watch N | progress | lesson-done N" ;;
esac
