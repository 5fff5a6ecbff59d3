#!/usr/bin/env bash
# logq.sh — questions an operator asks of taskd's logs, answered from the journal or from a file.
#
# taskd writes one JSON object per line on stderr (shared/src/log.c): "ts", "level", "msg" and,
# for the access log (msg "request", shared/src/http_log.c), "request_id", "method", "path"
# (the route template, never the raw path), "status", "duration_ms" and from week 4 "user_id".
# Under systemd stderr goes to journald, and `journalctl -u taskd -o json` wraps each line in an
# entry whose MESSAGE field is that line; this script accepts both shapes, so the same questions
# work on the server (the journal) and on this machine (a file, or a pipe from `make run`).
#
# usage: logq.sh [INPUT] [--since MINUTES] COMMAND [ARG]
#   INPUT (default: stdin when it is not a terminal, else the journal of unit taskd)
#     --unit UNIT        journalctl -u UNIT -o json (add --since to bound it)
#     --file FILE        taskd's JSON lines, or the output of journalctl -o json ("-" = stdin)
#   --since MINUTES      only lines of the last MINUTES minutes
#   COMMAND
#     errors             lines at level "error" and requests answered 5xx, oldest first
#     slow [N]           the N slowest requests (default 10): duration_ms method path status request_id
#     status             requests per status code, most frequent first
#     routes             per route: requests, 5xx, mean and max duration_ms
#     request ID         every line of one request id, in order (what a bug report names)
#   -h, --help           this text
# Lines that are not JSON (a crash message, a shell's noise) are skipped and counted on stderr.
# Exit status: 0 answered (even with no matching lines), 1 the input could not be read, 2 usage.
set -euo pipefail

usage() { sed -n '/^# usage:/,/^# Exit status/s/^# \{0,1\}//p' "$0"; }
die() { echo "logq: $*" >&2; exit "${2:-1}"; }

input="" src="" since="" cmd="" arg=""
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --unit) [ $# -ge 2 ] || die "--unit needs a unit name" 2; input=unit src=$2; shift 2 ;;
    --file) [ $# -ge 2 ] || die "--file needs a file name" 2; input=file src=$2; shift 2 ;;
    --since)
      [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || die "--since needs a whole number of minutes" 2
      since=$2; shift 2 ;;
    -*) die "unknown option $1 (see --help)" 2 ;;
    *)
      if [ -z "$cmd" ]; then cmd=$1; elif [ -z "$arg" ]; then arg=$1; else die "too many arguments (see --help)" 2; fi
      shift ;;
  esac
done
case $cmd in
  errors | status | routes) [ -z "$arg" ] || die "$cmd takes no argument" 2 ;;
  slow) arg=${arg:-10}; [[ $arg =~ ^[1-9][0-9]*$ ]] || die "slow N: N must be a positive number" 2 ;;
  request) [ -n "$arg" ] || die "request needs a request id" 2 ;;
  "") usage >&2; exit 2 ;;
  *) die "unknown command '$cmd' (see --help)" 2 ;;
esac
command -v jq >/dev/null || die "jq is needed (apt-get install jq)"

if [ -z "$input" ]; then
  if [ ! -t 0 ]; then input=file src=-; else input=unit src=taskd; fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/logq.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# 1. The raw input, one JSON text per line, in $tmp/raw.
if [ "$input" = unit ]; then
  command -v journalctl >/dev/null || die "no journalctl here: pass --file FILE, or pipe the lines in"
  jargs=(-u "$src" -o json --all --no-pager)
  [ -z "$since" ] || jargs+=(--since "-${since}min")
  journalctl "${jargs[@]}" >"$tmp/raw" || die "journalctl ${jargs[*]} failed"
elif [ "$src" = - ]; then
  cat >"$tmp/raw"
else
  [ -r "$src" ] || die "cannot read $src"
  cat -- "$src" >"$tmp/raw"
fi

# 2. Normalise to taskd's own objects: a journal entry becomes its MESSAGE parsed as JSON (the
#    entry's own timestamp fills "ts" when the line has none); a line that is not JSON, or a
#    MESSAGE that is not one of taskd's objects, is dropped and counted. journalctl -o json
#    writes a MESSAGE with bytes that are not UTF-8 as an array of numbers, a field repeated in
#    one entry as an array of its values, and a field over 4096 bytes as null unless --all is
#    given (man 1 journalctl, "json"): --all is, the other two are read here.
# shellcheck disable=SC2016 # $-names below are jq's, not the shell's
jq -R -c '
  (fromjson? // null) as $v
  | if $v == null or ($v | type) != "object" then {bad: true}
    elif ($v | has("MESSAGE")) then
      ($v.MESSAGE | if type == "array" and (.[0] | type) == "number" then implode
                    elif type == "array" then .[0] else . end) as $m
      | (($m | strings | fromjson?) // null) as $o
      | if ($o | type) == "object" then
          $o + (if $o.ts then {} else
                  {ts: ($v.__REALTIME_TIMESTAMP | tonumber / 1000000 | todate)} end)
        else {bad: true} end
    else $v end' <"$tmp/raw" >"$tmp/all" || die "could not parse the input"
bad=$(grep -c '^{"bad":true}$' "$tmp/all" || true)
[ "$bad" = 0 ] || echo "logq: skipped $bad line(s) that are not taskd's JSON" >&2
grep -v '^{"bad":true}$' "$tmp/all" >"$tmp/lines" || true

# 3. The time window. taskd's "ts" is RFC 3339 in UTC ("2026-12-05T12:00:00.123456Z"), so the
#    first 19 characters compare as strings in time order.
if [ -n "$since" ] && [ "$input" = file ]; then
  cutoff=$(date -u -d "-$since min" +%Y-%m-%dT%H:%M:%S)
  jq -c --arg c "$cutoff" 'select((.ts // "")[0:19] >= $c)' "$tmp/lines" >"$tmp/win"
  mv "$tmp/win" "$tmp/lines"
fi

# 4. The question.
case $cmd in
  errors)
    jq -c 'select(.level == "error" or ((.status // 0) >= 500))' "$tmp/lines" ;;
  slow)
    jq -s -r --argjson n "$arg" '
      map(select(.msg == "request")) | sort_by(-.duration_ms) | .[:$n][]
      | [(.duration_ms | tostring), .method, .path, (.status | tostring), .request_id] | @tsv' "$tmp/lines" ;;
  status)
    jq -s -r '
      map(select(.msg == "request")) | group_by(.status) | map([length, .[0].status])
      | sort_by(-.[0], .[1])[] | "\(.[1])\t\(.[0])"' "$tmp/lines" ;;
  routes)
    jq -s -r '
      map(select(.msg == "request")) | group_by([.method, .path])
      | map({r: "\(.[0].method) \(.[0].path)", n: length, e: map(select(.status >= 500)) | length,
             mean: (map(.duration_ms) | add / length), max: (map(.duration_ms) | max)})
      | sort_by(-.n, .r)[]
      | [.r, (.n | tostring), (.e | tostring), (.mean * 1000 | round / 1000 | tostring),
         (.max | tostring)] | @tsv' "$tmp/lines" ;;
  request)
    jq -c --arg id "$arg" 'select(.request_id == $id)' "$tmp/lines" ;;
esac
