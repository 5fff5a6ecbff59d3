#!/usr/bin/env bash
# check-layers.sh — the include graph may only point down.
#
# usage: bash shared/scripts/check-layers.sh   (from the repository root)
#
# Reads every `#include "..."` of shared/ and of weeks/*/src, weeks/*/stage.c, weeks/*/bin and
# checks four rules (docs/decisions/0010-layered-core.md says why):
#   (a) a shared/src file includes only files of its own layer or below (the table below);
#   (b) nothing under shared/ includes a header that exists only under weeks/;
#   (c) weeks/NN code includes only shared/ and weeks <= NN;
#   (d) domain code in weeks/*/src (any file not named *_http.* or *_mw.*) includes nothing of the
#       HTTP layer or above: the task rules and the stores never need HTTP.
# Each violation is printed as `file:line: X includes Y (...)`; the exit status is 1 if there is
# any. Angle-bracket includes (libraries) and quoted names found nowhere in the tree are ignored.
set -euo pipefail
cd "$(dirname "$0")/../.."

# ---- the layers of shared/src, lowest first: a file may include its own layer and those below.
declare -A LAYER=()
LAYER_NAMES=()
layer() { # layer NUMBER NAME MODULE...
  local n=$1 name=$2 m
  shift 2
  LAYER_NAMES[n]=$name
  for m in "$@"; do LAYER[$m]=$n; done
}
# Error codes: what every other module returns.
layer 0 err err
# Byte buffers, UTF-8 and time: pure functions over memory, no I/O, no policy.
layer 1 text buf utf8 timeutil
# Process services: the structured log, the environment configuration and LOG_LEVEL (they write
# to stderr / read the environment), locals, a table of typed values that a request carries
# without knowing what they mean, work_pool, threads that run slow jobs off the event loops, and
# lifecycle, the hooks a program calls for its supervisor (ready, reload, stopping), and observer,
# what a background program reports about its work (a job's outcome). None of them
# knows HTTP.
layer 2 process log config log_config locals work_pool lifecycle observer
# The list of rule breaks of a request body: what the parser and the domain rules report into,
# with no idea how it will be answered.
layer 3 field_errors field_errors
# Strict JSON in, compact JSON out (over cJSON).
layer 4 json json
# The HTTP layer: server, routing, requests, responses, and its own error answers
# (http_res_problem); the JSON-object body reader; the access log.
layer 5 http http http_json http_log conn_watch
# RFC 9457 answers for handlers: the "errors" list, extension members, error code -> status.
layer 6 problem problem
# What a stage wires itself into, and the process entry point.
layer 7 app app main
# Layer of the first HTTP-facing module, for rule (d).
HTTP_LAYER=5

# ---- exceptions that are known and scheduled, each with its reason. Format: "file include".
# None today: keep it that way.
ALLOWED=()

violations=0
report() { # report FILE LINE WHAT
  printf '%s:%s: %s\n' "$1" "$2" "$3"
  violations=$((violations + 1))
}

# Where each header name lives: in shared/ (any directory), and the lowest week that has it.
declare -A IN_SHARED=() WEEK_OF=()
while IFS= read -r f; do IN_SHARED[${f##*/}]=1; done < <(find shared -type f -name '*.[ch]')
for d in weeks/[0-9][0-9]-*/; do
  wk=${d#weeks/}
  wk=$((10#${wk%%-*}))
  while IFS= read -r f; do
    name=${f##*/}
    if [[ -z ${WEEK_OF[$name]:-} || ${WEEK_OF[$name]} -gt $wk ]]; then WEEK_OF[$name]=$wk; fi
  done < <(find "$d" -type f -name '*.[ch]')
done

week_of_path() { # the week number of a path under weeks/, else empty
  local p=$1
  [[ $p == weeks/[0-9][0-9]-* ]] || return 0
  p=${p#weeks/}
  echo $((10#${p%%-*}))
}

module_of() { # shared/src/http_json.c -> http_json
  local b=${1##*/}
  echo "${b%.*}"
}

# Emits "LINE NAME" for each quoted include of a file.
includes_of() {
  grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$1" |
    sed -E 's/^([0-9]+):[^"]*"([^"]+)".*/\1 \2/' || true
}

allowed() { # allowed FILE INCLUDE
  local e
  for e in "${ALLOWED[@]}"; do [[ $e == "$1 $2" ]] && return 0; done
  return 1
}

# Resolves an include of FILE to "shared", a week number, or "" (outside the tree: a library).
origin_of() { # origin_of FILE INCLUDE
  local file=$1 inc=$2 rel
  if [[ $inc == */* ]]; then
    rel=$(realpath -m --relative-to=. "$(dirname "$file")/$inc")
    if [[ $rel == shared/* ]]; then echo shared; else week_of_path "$rel"; fi
    return 0
  fi
  if [[ -f $(dirname "$file")/$inc ]]; then
    if [[ $file == shared/* ]]; then echo shared; else week_of_path "$file"; fi
  elif [[ -n ${IN_SHARED[$inc]:-} ]]; then
    echo shared
  elif [[ -n ${WEEK_OF[$inc]:-} ]]; then
    echo "${WEEK_OF[$inc]}"
  fi
}

nfiles=0
# (a) and (b): shared/.
while IFS= read -r file; do
  nfiles=$((nfiles + 1))
  me=$(module_of "$file")
  my_layer=
  if [[ $file == shared/src/* ]]; then
    my_layer=${LAYER[$me]:-}
    [[ -n $my_layer ]] || report "$file" 1 "$me has no layer (add it to the table in $0)"
  fi
  while read -r line inc; do
    [[ -n ${line:-} ]] || continue
    from=$(origin_of "$file" "$inc")
    if [[ -n $from && $from != shared ]]; then
      allowed "$file" "$inc" && continue
      report "$file" "$line" "${file##*/} includes $inc (weeks/$(printf '%02d' "$from") above shared)"
      continue
    fi
    [[ -n $my_layer && $from == shared ]] || continue
    dep=$(module_of "$inc")
    dep_layer=${LAYER[$dep]:-}
    if [[ -z $dep_layer ]]; then
      [[ -f shared/src/$inc ]] && report "$file" "$line" "${file##*/} includes $inc (no layer)"
    elif ((dep_layer > my_layer)); then
      report "$file" "$line" "${file##*/} includes $inc (layer $dep_layer ${LAYER_NAMES[dep_layer]} above $my_layer ${LAYER_NAMES[my_layer]})"
    fi
  done < <(includes_of "$file")
done < <(find shared -type f -name '*.[ch]' | sort)

# (c) and (d): the weeks.
while IFS= read -r file; do
  nfiles=$((nfiles + 1))
  wk=$(week_of_path "$file")
  base=${file##*/}
  domain=0
  [[ $file == weeks/*/src/* && ${base%.*} != *_http && ${base%.*} != *_mw ]] && domain=1
  while read -r line inc; do
    [[ -n ${line:-} ]] || continue
    from=$(origin_of "$file" "$inc")
    if [[ -n $from && $from != shared ]] && ((from > wk)); then
      report "$file" "$line" "$base includes $inc (week $from above week $wk)"
    elif [[ $domain == 1 && $from == shared ]]; then
      dep_layer=${LAYER[$(module_of "$inc")]:-}
      if [[ -n $dep_layer ]] && ((dep_layer >= HTTP_LAYER)); then
        report "$file" "$line" "$base includes $inc (layer $dep_layer ${LAYER_NAMES[dep_layer]} above domain code)"
      fi
    fi
  done < <(includes_of "$file")
done < <(find weeks/[0-9][0-9]-*/src weeks/[0-9][0-9]-*/bin weeks/[0-9][0-9]-*/stage.c \
  -type f -name '*.[ch]' 2>/dev/null | sort)

if ((violations > 0)); then
  echo "check-layers: $violations include(s) point the wrong way" >&2
  exit 1
fi
echo "check-layers: $nfiles files, every include points down (${#ALLOWED[@]} scheduled exception)"
