#!/usr/bin/env bash
# local.sh — `make ci`: the pipeline, run on this machine the way a host runs it. It clones HEAD
# into a scratch folder (a runner sees commits, not your working tree), restores the npm cache
# as a host restores its cache, reads the stages and jobs from .gitlab-ci.yml (the GitHub
# workflow runs the same jobs in the same order: make ci-validate checks that), and runs each
# job's script lines with its matrix variables, one job at a time, in stage order. Then a table.
#
# A job runs when every earlier stage passed, or always if it says `when: always`; a manual job
# (`when: manual`, or rules that all say so: a person approves it on the host) is listed and not
# run. Rules that pick
# branches are not evaluated: make ci runs the pipeline of the default branch.
#
# Environment:
#   CI_JOBS="lint build"  run only these jobs (the others are listed as "not selected"); one
#                         variant of a matrix job is JOB:VALUE ("build:clang test:suites")
#   CI_KEEP=1             keep the clone and its logs (printed at the end)
#   BUILD                 where this repository's yaml2json is (default build); YAML2JSON names
#                         the tool itself (ci/test-pipelines.sh runs make ci on a scratch repository)
# Each job's output goes to a log; a failed job's last lines are printed. The report's files
# (grade.json, junit/), the release (build/release/) and any .deb are copied to build/ci/ in this
# repository. What the jobs started in the clone (its services, its week-5 server, its update
# host) is stopped and removed with it, as a hosted runner's would be.
# Exit status: 0 when every job that ran passed, 1 otherwise.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
yaml2json=${YAML2JSON:-$here/${BUILD:-build}/tools/yaml2json}
[ -x "$yaml2json" ] || { echo "ci: $yaml2json is missing (make ${BUILD:-build}/tools/yaml2json)" >&2; exit 2; }
selected=" ${CI_JOBS:-} "

commit=$(git -C "$here" rev-parse --short HEAD) || exit 2
changes=$(git -C "$here" status --porcelain | wc -l)
[ "$changes" -eq 0 ] ||
  echo "ci: note: $changes uncommitted change(s) are not in the run: a pipeline tests commits (commit, then make ci)"
work=$(mktemp -d "${TMPDIR:-/tmp}/taskd-ci.XXXXXX")
repo="$work/repo"
mkdir -p "$work/logs"
echo "ci: a clean clone of $commit in $repo"
git clone -q --no-hardlinks "$here" "$repo" || exit 2
# The cache: what hosts keep between runs, keyed by shared/npm/package-lock.json.
if [ -d "$here/shared/npm/node_modules" ] && cmp -s "$here/shared/npm/package-lock.json" "$repo/shared/npm/package-lock.json"; then
  cp -a "$here/shared/npm/node_modules" "$repo/shared/npm/" && echo "ci: npm cache restored (shared/npm/node_modules)"
fi

# The plan: one row per job and matrix combination, in stage order:
#   stage, job, label, when, variables (k=v, space-separated), script lines (\u001f between lines,
#   \u001d for a newline inside one), separated by \u001e: not a tab, since read folds runs of
#   whitespace separators and an empty field would shift the rest.
plan=$("$yaml2json" "$repo/.gitlab-ci.yml" | jq -r '
  def combos: to_entries | reduce .[] as $e ([{}];
      [.[] as $c | ($e.value | if type == "array" then .[] else . end) as $v | $c + {($e.key): ($v | tostring)}]);
  . as $doc
  | ($doc.stages // ["build", "test", "deploy"]) as $stages
  | $stages[] as $stage
  | $doc | to_entries[]
  | select(.value | type == "object" and has("script"))
  | select(.key | startswith(".") | not)
  | select((.value.stage // "test") == $stage)
  | .key as $job | .value as $d
  | ($d.parallel.matrix // [{}] | map(combos[]) ) [] as $combo
  | [$stage, $job,
     ($job + ([$combo[]] | if length > 0 then " " + join(" ") else "" end)),
     ($d.when // (if ($d.rules | type) == "array" and ($d.rules | length) > 0
                      and all($d.rules[]; .when == "manual") then "manual" else "on_success" end)),
     ([($d.variables // {}), $combo | to_entries[] | "\(.key)=\(.value)"] | join(" ")),
     ([$d.script[] | gsub("\n"; "\u001d")] | join("\u001f"))]
  | join("\u001e")') || { echo "ci: cannot read the plan from .gitlab-ci.yml" >&2; exit 2; }

# expand VALUE: $NAME and ${NAME} replaced by their values here, as GitLab expands a job's
# variables from its own; an undefined one is empty there as here. make ci has none of GitLab's
# predefined variables, so REGISTRY: $CI_REGISTRY_IMAGE is empty and the job falls back to its
# local default (the local registry), where the host would have given it the project's.
expand() {
  local v=$1 out="" name
  while [[ $v =~ ^([^$]*)\$(\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))(.*)$ ]]; do
    name=${BASH_REMATCH[3]:-${BASH_REMATCH[4]}}
    out+="${BASH_REMATCH[1]}${!name:-}"
    v=${BASH_REMATCH[5]}
  done
  printf '%s' "$out$v"
}

rows=()
failed_stage=""
status=0
while IFS=$'\x1e' read -r stage job label when vars script; do
  result="" seconds=""
  if [ -n "${CI_JOBS:-}" ] && [[ $selected != *" $job "* ]] && [[ $selected != *" ${label// /:} "* ]]; then
    result="not selected"
  elif [ "$when" = manual ]; then
    result="manual: approve on the host"
  elif [ -n "$failed_stage" ] && [ "$when" != always ]; then
    result="skipped (stage $failed_stage failed)"
  else
    log="$work/logs/${label// /-}.log"
    echo "ci: [$stage] $label ..."
    start=$SECONDS
    env_args=(CI=true CI_LOCAL=1 CI_COMMIT_SHORT_SHA="$commit")
    for kv in $vars; do env_args+=("${kv%%=*}=$(expand "${kv#*=}")"); done
    ok=1
    IFS=$'\x1f' read -r -a lines <<<"$script"
    [ ${#lines[@]} -gt 0 ] || { echo "ci: job $job has no script line" >>"$log"; ok=0; }
    for line in "${lines[@]}"; do
      line=${line//$'\x1d'/$'\n'}
      echo "\$ $line" >>"$log"
      # stdin is not the job's: it is the plan this loop reads (an ssh in a job once ate the rest).
      (cd "$repo" && env "${env_args[@]}" bash -euo pipefail -c "$line") </dev/null >>"$log" 2>&1 || { ok=0; break; }
    done
    seconds=$((SECONDS - start))
    if [ $ok = 1 ]; then
      result=passed
    else
      result=FAILED status=1
      [ "$when" = always ] || failed_stage=${failed_stage:-$stage}
      echo "ci: $label failed; the end of its log ($log):"
      tail -n 30 "$log" | sed 's/^/    /'
    fi
  fi
  rows+=("$stage"$'\t'"$label"$'\t'"$result"$'\t'"${seconds:+$seconds s}")
done <<<"$plan"

echo
echo "ci: the pipeline of $commit on this machine"
{
  printf 'STAGE\tJOB\tRESULT\tTIME\n'
  printf '%s\n' "${rows[@]}"
} | column -t -s $'\t' | sed 's/^/  /'

mkdir -p "$here/build/ci"
for f in build/grade.json build/junit build/release build/package/*.deb; do
  for g in "$repo"/$f; do [ -e "$g" ] && cp -a "$g" "$here/build/ci/"; done
done
kept=$(find "$here/build/ci" -mindepth 1 -maxdepth 1 -printf '%f ')
[ -z "$kept" ] || echo "ci: artifacts copied to build/ci/: $kept"
if [ "${CI_KEEP:-0}" = 1 ]; then
  echo "ci: the clone and its logs are kept in $work"
else
  # The clone's own services (its .run/), its server and its update host go with it.
  if [ -d "$repo/.run" ]; then
    bash "$repo/shared/scripts/services.sh" down >/dev/null 2>&1
    [ ! -d "$repo/.run/server" ] || bash "$repo/weeks/05-linux/server/server.sh" down >/dev/null 2>&1
    [ ! -d "$repo/.run/updatehost" ] || bash "$repo/weeks/08-cicd/autoupdate/updatehost.sh" down >/dev/null 2>&1
  fi
  rm -rf "$work"
fi
exit $status
