#!/usr/bin/env bash
# exercises.sh — the lab runner's one reader of the exercise data (weeks/NN-slug/lab/N.M.md).
#
# Each LAB:BEGIN N.M marker in weeks/NN-slug/src has a data file weeks/NN-slug/lab/N.M.md (format:
# /work/notes/common.md, "Lab exercise data"; docs/decisions on the lab runner): its title, lab
# file, the tests it makes pass (SUITE:GLOB, SUITE = unit or api-week-K), minutes, and three hint
# tiers (## Nudge, ## Idea, ## Shape). Everything the learner sees about exercises is made from
# these files and the latest results, so hints, filters and the README cannot drift apart.
#
# usage: exercises.sh COMMAND WEEK_DIR ...
#   list WEEK_DIR                    TSV: id title file minutes tests, in exercise order
#   tier WEEK_DIR ID TIER            the text of one hint tier (Nudge, Idea or Shape)
#   section WEEK_DIR                 the README block between the exercises:begin/end markers
#   write WEEK_DIR LAB_DIR           puts that block into LAB_DIR/README.md
#   check WEEK_DIR LAB_DIR UNIT_BIN [API_BIN...]
#                                    CI: markers and data files pair up, every tests: glob
#                                    matches a test (Criterion --list), the README block is
#                                    current and says `make lesson-done-N`, the minutes agree
#                                    with ROADMAP.md's lab time
#   share WEEK_DIR RESULTS/TARGET    CI: the pristine lab leaves >= 1/3 of the points to the
#                                    learner, and each exercise has a failing test to make pass
#   status WEEK_DIR RESULTS/TARGET   TSV: id title state(done|todo) failed total first-failure
#   report WEEK_DIR RESULTS/TARGET   the failures grouped by exercise, then "Next: ..."
#   orphans WEEK_DIR RESULTS/TARGET  CI: the failing tests no tests: glob names (exit 1 if any)
# A test that several exercises' globs name belongs to the last of them: it needs them all.
# Ids are compared as strings (1.1 is not 1.10) and ordered by their numbers (1.2 before 1.10).
# A week without lab/*.md yet gets a "no exercise data" note, never a failure.
set -uo pipefail
shopt -s extglob nullglob
here=$(cd "$(dirname "$0")/../.." && pwd)
BEGIN_MARK='<!-- exercises:begin -->'
END_MARK='<!-- exercises:end -->'

die() { echo "exercises: $*" >&2; exit 2; }
week_num() { local b; b=$(basename "$1"); b=${b%%-*}; echo $((10#$b)); }
data_files() { printf '%s\n' "$1"/lab/*.md; }
has_data() { [ -n "$(data_files "$1")" ]; }
no_data_note() { echo "exercises: week $(week_num "$1") has no exercise data yet ($1/lab/N.M.md): nothing to ${2:-check}"; }

# parse FILE: one TSV line id, title, file, minutes, tests (empty fields stay empty).
parse() {
  awk -v path="$1" '
    BEGIN { FS = "\n" }
    NR == 1 && /^# / { line = substr($0, 3); id = line; sub(/ .*/, "", id); title = line; sub(/^[^ ]+ +/, "", title) }
    /^file:/    { v = $0; sub(/^file:[ \t]*/, "", v); file = v }
    /^tests:/   { v = $0; sub(/^tests:[ \t]*/, "", v); gsub(/[ \t]+/, " ", v); tests = v }
    /^minutes:/ { v = $0; sub(/^minutes:[ \t]*/, "", v); minutes = v }
    /^## /      { exit }
    END { printf "%s\t%s\t%s\t%s\t%s\n", id, title, file, minutes, tests }
  ' "$1"
}

# list WEEK_DIR: every data file parsed, in exercise order.
cmd_list() {
  local f
  for f in $(data_files "$1"); do parse "$f"; done | sort -t. -k1,1n -k2,2n
}

# tier WEEK_DIR ID TIER: the paragraph(s) under "## TIER", blank lines at the ends dropped.
cmd_tier() {
  local f="$1/lab/$2.md"
  [ -f "$f" ] || die "no data file $f"
  awk -v want="## $3" '
    /^## / { on = ($0 == want); next }
    on { lines[++n] = $0 }
    END { a = 1; while (a <= n && lines[a] ~ /^[ \t]*$/) a++
          while (n >= a && lines[n] ~ /^[ \t]*$/) n--
          for (i = a; i <= n; i++) print lines[i] }
  ' "$f"
}

cmd_section() {
  local week=$1 n id title file minutes tests total=0 nudge
  n=$(week_num "$week")
  echo "$BEGIN_MARK"
  echo "<!-- Made by shared/scripts/exercises.sh from $week/lab/*.md by \`make labs\`: edit those files, not this block. -->"
  echo
  echo "| id | exercise | file | minutes |"
  echo "|---|---|---|---:|"
  while IFS=$'\t' read -r id title file minutes tests; do
    echo "| $id | $title | \`$file\` | $minutes |"
    total=$((total + ${minutes:-0}))
  done < <(cmd_list "$week")
  echo "| | **total** | | **$total** |"
  while IFS=$'\t' read -r id title file minutes tests; do
    echo
    echo "**$id $title** (\`$file\`, about $minutes min). Tests: \`${tests// /\` \`}\`."
    echo
    nudge=$(cmd_tier "$week" "$id" Nudge)
    echo "$nudge"
  done < <(cmd_list "$week")
  echo
  echo "Stuck? \`make hint-$n\` gives the next hint for the first exercise not yet passing: the"
  echo "nudge above, then the idea, then the shape of the code. \`make solution-$n EX=N.M\` shows the"
  echo "reference code of an exercise once its tests pass."
  echo "$END_MARK"
}

# The README's current block (markers included), or nothing.
readme_block() {
  awk -v b="$BEGIN_MARK" -v e="$END_MARK" '$0 == b { on = 1 } on { print } on && $0 == e { exit }' "$1"
}

cmd_write() {
  local week=$1 lab=$2 readme="$2/README.md" block tmp
  has_data "$week" || { no_data_note "$week" write; return 0; }
  [ -f "$readme" ] || die "no $readme"
  block=$(cmd_section "$week")
  tmp=$(mktemp)
  if grep -qxF "$BEGIN_MARK" "$readme"; then
    awk -v b="$BEGIN_MARK" -v e="$END_MARK" -v blockfile=/dev/stdin '
      $0 == b { while ((getline l < blockfile) > 0) print l; skip = 1; next }
      skip && $0 == e { skip = 0; next }
      !skip { print }
    ' "$readme" <<<"$block" >"$tmp"
  elif grep -q '^## Reading a failing test' "$readme"; then
    # First time: the block goes before the part on reading failures.
    awk -v blockfile=/dev/stdin '
      /^## Reading a failing test/ && !done { print "## The exercises at a glance\n"
        while ((getline l < blockfile) > 0) print l; print ""; done = 1 }
      { print }
    ' "$readme" <<<"$block" >"$tmp"
  else
    { cat "$readme"; printf '\n## The exercises at a glance\n\n%s\n' "$block"; } >"$tmp"
  fi
  if cmp -s "$tmp" "$readme"; then rm -f "$tmp"; else mv "$tmp" "$readme"; echo "exercises: $readme updated"; fi
}

# The tests a suite binary holds, as "suite<TAB>category/name" lines (Criterion --list).
list_tests() {
  local suite=$1 bin=$2
  "$bin" --list 2>/dev/null | awk -v s="$suite" '
    /^[^ ├└│].*: [0-9]+ tests?$/ { cat = $0; sub(/: [0-9]+ tests?$/, "", cat); next }
    /^(├|└)── / { name = $0; sub(/^(├|└)── /, "", name); print s "\t" cat "/" name }'
}
suite_of_api() { echo "api-$(basename "$(dirname "$(dirname "$1")")")"; }

# ROADMAP.md's lab time for week N, in minutes, "LO HI": the week's own "**Lab.**" (or "**Lab**")
# paragraph when it names hours, a range ("4–6 h") or one figure ("about 5 h", "5.5 hours", taken
# as ±25%), else the plan's general "Do the lab ... 4–7 h".
roadmap_minutes() {
  awk -v n="$1" '
    function hours(s,   m) {
      if (match(s, /[0-9]+(\.[0-9]+)?[ ]*(–|-|to)[ ]*[0-9]+(\.[0-9]+)?[ ]*h(ours)?([^a-z]|$)/)) {
        m = substr(s, RSTART, RLENGTH); sub(/[ ]*h(ours)?[^0-9]*$/, "", m)
        split(m, p, /[ ]*(–|-|to)[ ]*/); lo = p[1] * 60; hi = p[2] * 60; return 1 }
      if (match(s, /[0-9]+(\.[0-9]+)?[ ]*h(ours)?([^a-z]|$)/)) {
        m = substr(s, RSTART, RLENGTH); sub(/[ ]*h(ours)?[^0-9]*$/, "", m)
        lo = m * 60 * 0.75; hi = m * 60 * 1.25; return 1 }
      return 0
    }
    /^## / { inweek = ($0 ~ ("^## Week " n " ")); para = "" }
    /\*\*Do the lab\*\*/ && !general { if (hours($0)) { glo = lo; ghi = hi; general = 1 } }
    inweek && /^\*\*Lab\.?\*\*/ { para = $0; inlab = 1; next }
    inweek && inlab { if ($0 ~ /^[ \t]*$/) { inlab = 0; if (hours(para)) { wlo = lo; whi = hi; own = 1 } } else para = para " " $0 }
    END { if (inlab && hours(para)) { wlo = lo; whi = hi; own = 1 }
          if (own) printf "%d %d week\n", wlo, whi; else if (general) printf "%d %d plan\n", glo, ghi }
  ' "${ROADMAP:-$here/ROADMAP.md}"
}

cmd_check() {
  local week=$1 lab=$2 unit=$3
  shift 3
  has_data "$week" || { no_data_note "$week"; return 0; }
  local n bad=0 tmp id title file minutes tests f spec suite glob total=0
  local -a specs
  n=$(week_num "$week")
  tmp=$(mktemp -d)
  # Markers (id, file) against data files, as strings.
  local -a sources
  mapfile -t sources < <(bash "$(dirname "$0")/lab-sources.sh" "$week")
  grep -Ho 'LAB:BEGIN [^ ]*' "${sources[@]}" |
    awk '{ f = $0; sub(/:LAB:BEGIN .*/, "", f); sub(/.*\//, "", f); print $2 "\t" f }' | sort -u >"$tmp/markers"
  cmd_list "$week" >"$tmp/data"
  for f in $(data_files "$week"); do
    id=$(basename "$f" .md)
    if [ "$(parse "$f" | cut -f1)" != "$id" ]; then
      echo "exercises: $f: its first line must be '# $id <title>'"; bad=1
    fi
  done
  awk -F'\t' -v wk="$week" '
    FILENAME == ARGV[1] { mfile[$1] = $2; next }
    { seen[$1] = 1
      if (!($1 in mfile)) { printf "exercises: %s/lab/%s.md has no LAB:BEGIN %s marker in %s/src\n", wk, $1, $1, wk; bad = 1 }
      else if ($3 != mfile[$1]) { printf "exercises: %s/lab/%s.md says file: %s, but the marker is in %s\n", wk, $1, $3, mfile[$1]; bad = 1 }
      if ($2 == "") { printf "exercises: %s/lab/%s.md has no title\n", wk, $1; bad = 1 }
      if ($4 !~ /^[0-9]+$/) { printf "exercises: %s/lab/%s.md: minutes: must be a whole number\n", wk, $1; bad = 1 }
      if ($5 == "") { printf "exercises: %s/lab/%s.md has no tests:\n", wk, $1; bad = 1 } }
    END { for (id in mfile) if (!(id in seen)) { printf "exercises: marker LAB:BEGIN %s (%s/src/%s) has no data file %s/lab/%s.md\n", id, wk, mfile[id], wk, id; bad = 1 }
          exit bad }
  ' "$tmp/markers" "$tmp/data" || bad=1
  # Every tests: glob must match at least one test of its suite.
  list_tests unit "$unit" >"$tmp/tests"
  for api in "$@"; do list_tests "$(suite_of_api "$api")" "$api" >>"$tmp/tests"; done
  while IFS=$'\t' read -r id title file minutes tests; do
    read -ra specs <<<"$tests" # never unquoted: the globs must not meet the file system
    for spec in "${specs[@]}"; do
      suite=${spec%%:*} glob=${spec#*:}
      if [ "$suite" = "$spec" ]; then echo "exercises: $id: '$spec' is not SUITE:GLOB"; bad=1; continue; fi
      if ! grep -q "^$suite"$'\t' "$tmp/tests"; then
        echo "exercises: $id: suite '$suite' is not one that grades lab $n (unit, api-week-1..$n)"; bad=1; continue
      fi
      local hit=0 s t
      while IFS=$'\t' read -r s t; do
        # shellcheck disable=SC2053 # the glob is the pattern
        if [ "$s" = "$suite" ] && [[ "$t" == $glob ]]; then hit=1; break; fi
      done <"$tmp/tests"
      [ $hit = 1 ] || { echo "exercises: $id: '$spec' matches no test (see $suite's --list)"; bad=1; }
    done
    total=$((total + ${minutes:-0}))
  done <"$tmp/data"
  # The README's block is what the data makes.
  if [ "$(readme_block "$lab/README.md")" != "$(cmd_section "$week")" ]; then
    echo "exercises: the exercise list in $lab/README.md is stale or missing: run 'make labs' and commit"; bad=1
  fi
  # The README says how to mark the lesson read: make progress shows it, and its Next: names it.
  if ! grep -q "make lesson-done-$n" "$lab/README.md"; then
    echo "exercises: $lab/README.md never says 'make lesson-done-$n' (how make progress learns the lesson was read)"; bad=1
  fi
  # The minutes agree with ROADMAP.md.
  local lo hi where
  read -r lo hi where < <(roadmap_minutes "$n")
  if [ -z "${lo:-}" ]; then
    echo "exercises: ROADMAP.md gives no lab time for week $n"; bad=1
  elif [ "$total" -lt "$lo" ] || [ "$total" -gt "$hi" ]; then
    echo "exercises: week $n's exercises take $total minutes; ROADMAP.md's lab time ($where) is $lo-$hi minutes"; bad=1
  fi
  rm -rf "$tmp"
  if [ $bad = 0 ]; then
    echo "exercises: week $n: $(cmd_list "$week" | wc -l) exercises, each marker has its data, each tests: glob matches, README current, $total min (ROADMAP: $lo-$hi)"
  fi
  return $bad
}

# annotate WEEK_DIR RESULTS/TARGET: every result of every suite, with the exercise it belongs to
# (the LAST whose tests: globs match it; "-" when none), in exercise order. A test two exercises
# name needs both, so it can pass only once the later one is done: shown under the earlier one,
# it would keep that exercise "todo" and the runner's "Next:" on it while the learner cannot
# make it pass yet (issue 10's trial: 1.5's tests waited on 1.6).
#   order id suite test points passed message
annotate() {
  local week=$1 dir=$2 f suite name points passed msg
  local -a ids globs specs
  local id title file minutes tests spec i=0
  while IFS=$'\t' read -r id title file minutes tests; do
    read -ra specs <<<"$tests"
    for spec in "${specs[@]}"; do ids+=("$i $id"); globs+=("$spec"); done
    i=$((i + 1))
  done < <(cmd_list "$week")
  for f in "$dir"/unit.json "$dir"/api-*.json; do
    suite=$(basename "$f" .json)
    jq -r '.tests[] | [.name, .points, .passed, (.message // "")] | @tsv' "$f" 2>/dev/null |
      while IFS=$'\t' read -r name points passed msg; do
        name=${name/::/\/}
        local k owner="999999 -"
        for k in "${!globs[@]}"; do
          # shellcheck disable=SC2053 # the glob is the pattern
          if [ "${globs[$k]%%:*}" = "$suite" ] && [[ "$name" == ${globs[$k]#*:} ]]; then owner=${ids[$k]}; fi
        done
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${owner% *}" "${owner#* }" "$suite" "$name" "$points" "$passed" "$msg"
      done
  done | sort -t$'\t' -k1,1n -s
}

# The comparison is of strings ($2 "" == id ""): as numbers, 1.1 and 1.10 would be equal.
cmd_status() {
  local week=$1 dir=$2
  annotate "$week" "$dir" >"${TMPDIR:-/tmp}/exercises.$$"
  while IFS=$'\t' read -r id title file minutes tests; do
    awk -F'\t' -v id="$id" -v title="$title" '
      $2 "" == id "" { total++; if ($6 != "true") { failed++; if (first == "") first = $4 ": " $7 } }
      END { printf "%s\t%s\t%s\t%d\t%d\t%s\n", id, title, (total > 0 && failed == 0) ? "done" : "todo", failed, total, first }
    ' "${TMPDIR:-/tmp}/exercises.$$"
  done < <(cmd_list "$week")
  rm -f "${TMPDIR:-/tmp}/exercises.$$"
}

cmd_share() {
  local week=$1 dir=$2 n points max
  n=$(week_num "$week")
  read -r points max < <(jq -s '[(map(.points) | add // 0), (map(.max_points) | add // 0)] | @tsv' -r "$dir"/*.json)
  [ "${max:-0}" -gt 0 ] || die "no results in $dir"
  local lost=$((max - points)) bad=0 own_points own_max own_lost
  # The rule is about the week's own graded points (its unit suite and its black-box suite): a
  # week whose cuts leave the earlier weeks' suites passing (week 7: events are an addition) is
  # measured on those; a week whose cuts break everything passes on all the suites anyway.
  read -r own_points own_max < <(jq -s '[(map(.points) | add // 0), (map(.max_points) | add // 0)] | @tsv' -r \
    "$dir/unit.json" "$dir/api-week-$n.json" 2>/dev/null || echo "0 0")
  own_lost=$((${own_max:-0} - ${own_points:-0}))
  if [ "${own_max:-0}" -gt 0 ] && [ $((3 * lost)) -lt "$max" ] && [ $((3 * own_lost)) -ge "$own_max" ]; then
    echo "exercises: the pristine lab $n leaves $own_lost of week $n's own $own_max points ($((100 * own_lost / own_max))%) to the learner (>= 1/3; $lost of $max over every suite it runs)"
  # lost/max >= 1/3, in integers
  elif [ $((3 * lost)) -lt "$max" ]; then
    if has_data "$week"; then
      echo "exercises: the pristine lab $n loses $lost of $max points ($((100 * lost / max))%): at least a third must be the learner's"
      bad=1
    else
      echo "exercises: note: the pristine lab $n loses only $lost of $max points ($((100 * lost / max))%); enforced (>= 1/3) once it has exercise data"
    fi
  else
    echo "exercises: the pristine lab $n leaves $lost of $max points ($((100 * lost / max))%) to the learner (>= 1/3)"
  fi
  if has_data "$week"; then
    local id title state total
    while IFS=$'\t' read -r id title state _ total _; do
      if [ "$total" -eq 0 ]; then echo "exercises: $id: its tests: ran no test"; bad=1
      elif [ "$state" = "done" ]; then echo "exercises: $id: every test it names already passes in the pristine lab"; bad=1; fi
    done < <(cmd_status "$week" "$dir")
  fi
  return $bad
}

# orphans WEEK_DIR RESULTS/TARGET: the graded tests that fail in these results and that no
# exercise's tests: globs name, as "suite<TAB>group/name" lines; exit 1 when there is one. On the
# pristine lab with its first exercise done (lab-check.sh) a failure no exercise names is a test
# the runner can only show as "Not tied to an exercise", where no hint and no "Next:" leads to it.
# Known ones, listed in WEEK_DIR/lab/untied.txt ("suite group/name" lines, # comments) until an
# exercise names them, are only counted (on stderr); any other is new, and fails.
cmd_orphans() {
  local untied="$1/lab/untied.txt" all left known
  all=$(annotate "$1" "$2" | awk -F'\t' '$2 == "-" && $6 != "true" { print $3 "\t" $4 }')
  left=$all
  if [ -n "$all" ] && [ -f "$untied" ]; then
    left=$(grep -vxFf <(grep -v '^#' "$untied" | sed 's/ /\t/') <<<"$all" || true)
  fi
  known=$(($(grep -c . <<<"$all") - $(grep -c . <<<"$left")))
  [ "$known" -gt 0 ] && echo "exercises: note: $known failing tests are still tied to no exercise (listed in $untied)" >&2
  [ -z "$left" ] || { echo "$left"; return 1; }
}

# report WEEK_DIR RESULTS/TARGET: failures by exercise, in exercise order: up to SHOW_FIRST of
# the first failing exercise (the one to work on), up to SHOW of each later one.
cmd_report() {
  local week=$1 dir=$2 n show=${SHOW:-2} show_first=${SHOW_FIRST:-5} tmp
  n=$(week_num "$week")
  tmp=$(mktemp)
  annotate "$week" "$dir" >"$tmp"
  local -A titles=()
  local id title file minutes tests first=""
  while IFS=$'\t' read -r id title file minutes tests; do
    titles[$id]=$title
    [ -n "$first" ] || first=$id
  done < <(cmd_list "$week")
  # While the first exercise fails, a failing test that no exercise names is its cascade: CI's
  # lab-check proves that every such test of the pristine lab passes once the first exercise is
  # done, so the runner says that instead of "not tied", which sends a learner looking for a bug
  # elsewhere. Once the first exercise passes, such a test is unexpected and shown as not tied.
  awk -F'\t' -v show="$show" -v show_first="$show_first" -v first="$first" -v titles="$(for k in "${!titles[@]}"; do printf '%s\x1f%s\x1e' "$k" "${titles[$k]}"; done)" '
    BEGIN { m = split(titles, pairs, "\x1e"); for (i = 1; i <= m; i++) if (split(pairs[i], kv, "\x1f") == 2) t[kv[1]] = kv[2] }
    $6 != "true" { key = $2; if (!(key in count)) order[++k] = key; count[key]++
      limit = (k == 1) ? show_first : show
      msg = $7; gsub(/\\n/, "\n      ", msg); gsub(/\\t/, " ", msg)
      if (count[key] <= limit) lines[key] = lines[key] sprintf("  FAIL %s %s (%d pt%s): %s\n", $3, $4, $5, $5 == 1 ? "" : "s", msg) }
    END { for (i = 1; i <= k; i++) { key = order[i]; lim = (i == 1) ? show_first : show
            if (key == "-" && (first in count))
              printf "\nWaiting on %s (%d failing: no exercise of their own, they pass once %s is done):\n", first, count[key], first
            else if (key == "-") printf "\nNot tied to an exercise (%d failing):\n", count[key]
            else printf "\nExercise %s — %s (%d failing):\n", key, t[key], count[key]
            printf "%s", lines[key]
            if (count[key] > lim) printf "  ... and %d more\n", count[key] - lim } }
  ' "$tmp"
  rm -f "$tmp"
}

cmd=${1:-}
[ $# -ge 2 ] || die "usage: exercises.sh list|tier|section|write|check|share|status|report|orphans WEEK_DIR ..."
shift
case "$cmd" in
  list) cmd_list "$1" ;;
  tier) [ $# -eq 3 ] || die "usage: exercises.sh tier WEEK_DIR ID Nudge|Idea|Shape"; cmd_tier "$@" ;;
  section) cmd_section "$1" ;;
  write) [ $# -eq 2 ] || die "usage: exercises.sh write WEEK_DIR LAB_DIR"; cmd_write "$@" ;;
  check) [ $# -ge 3 ] || die "usage: exercises.sh check WEEK_DIR LAB_DIR UNIT_BIN [API_BIN...]"; cmd_check "$@" ;;
  share) [ $# -eq 2 ] || die "usage: exercises.sh share WEEK_DIR RESULTS/TARGET"; cmd_share "$@" ;;
  status) [ $# -eq 2 ] || die "usage: exercises.sh status WEEK_DIR RESULTS/TARGET"; cmd_status "$@" ;;
  report) [ $# -eq 2 ] || die "usage: exercises.sh report WEEK_DIR RESULTS/TARGET"; cmd_report "$@" ;;
  orphans) [ $# -eq 2 ] || die "usage: exercises.sh orphans WEEK_DIR RESULTS/TARGET"; cmd_orphans "$@" ;;
  *) die "unknown command '$cmd'" ;;
esac
