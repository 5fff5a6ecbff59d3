#!/usr/bin/env bash
# validate.sh — `make ci-validate`: are the pipeline files right, before any runner sees them?
# Checking that the YAML parses is not enough (a misspelt key parses fine and the job silently
# does nothing), so every check here is about meaning:
#   1. .github/workflows/*.yml against GitHub's workflow schema (action-validator, npm), and
#      .gitlab-ci.yml against GitLab's own CI schema (gitlab-ci-local, npm): unknown keys, wrong
#      types, bad values of `when:` and the like;
#   2. every `ci/job.sh NAME` a file runs is a job ci/job.sh has, every ci/ script named exists,
#      and every make target named in the files or run by the jobs exists;
#   3. both hosts run the same jobs, each after the same others (ci/pipeline-graph.mjs);
#   4. no secret is written in the files: a variable named like a secret takes its value from
#      the host's secret store (GitHub: ${{ secrets.X }}; GitLab: a CI/CD variable, $X), and
#      nothing in them looks like a key or a token.
# docs/decisions/0032-pipeline-schemas.md says why these two validators.
#
# usage: validate.sh [DIR]   check the pipeline files of DIR (default: this repository); the
#                            tools (node_modules, yaml2json, make) are this repository's.
# Every problem is printed as FILE: what is wrong; exit status 1 when there is one, 0 when none.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "${1:-$here}" && pwd)
npm_bin="$here/shared/npm/node_modules"
yaml2json="$here/${BUILD:-build}/tools/yaml2json"
problems=0
problem() { echo "ci-validate: $*" >&2; problems=$((problems + 1)); }

[ -x "$yaml2json" ] || { echo "ci-validate: $yaml2json is missing (make ${BUILD:-build}/tools/yaml2json)" >&2; exit 2; }
if [ ! -f "$npm_bin/gitlab-ci-local/src/index.js" ] || [ ! -f "$npm_bin/@action-validator/cli/cli.mjs" ]; then
  echo "ci-validate: the validators are not installed in shared/npm (make deps; it needs the npm registry)" >&2
  exit 2
fi

cd "$root" || exit 2
shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
[ ${#workflows[@]} -gt 0 ] || problem ".github/workflows/: no workflow file"
[ -f .gitlab-ci.yml ] || problem ".gitlab-ci.yml: missing"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# ---- 1. the schemas ----
for wf in "${workflows[@]}"; do
  if ! out=$(node "$npm_bin/@action-validator/cli/cli.mjs" "$wf" 2>&1); then
    # action-validator prints JSON; the details are what a reader needs.
    detail=$(printf '%s' "$out" | jq -r '[.. | objects | select(.detail) | "\(.path): \(.detail)"] | unique | .[]' 2>/dev/null)
    problem "$wf: not a valid GitHub workflow (GitHub's schema):"$'\n'"${detail:-$out}"
  fi
done
if [ -f .gitlab-ci.yml ]; then
  # gitlab-ci-local reads the file from a git checkout and keeps state beside it: give it a copy.
  mkdir -p "$scratch/gl" && cp .gitlab-ci.yml "$scratch/gl/"
  git -C "$scratch/gl" init -q && git -C "$scratch/gl" add -A &&
    git -C "$scratch/gl" -c user.name=ci -c user.email=ci@localhost commit -qm validate
  if ! out=$(cd "$scratch/gl" && node "$npm_bin/gitlab-ci-local/src/index.js" --list 2>&1); then
    detail=$(printf '%s\n' "$out" | grep -E '^\s*(•|Invalid|.* must |.* is not )' | grep -v 'For further' | head -20)
    problem ".gitlab-ci.yml: not a valid GitLab CI file (GitLab's schema):"$'\n'"${detail:-$out}"
  fi
fi

# ---- 2. what the files name ----
"$yaml2json" .gitlab-ci.yml >"$scratch/gitlab.json" 2>"$scratch/err" ||
  problem ".gitlab-ci.yml: $(cat "$scratch/err")"
for wf in "${workflows[@]}"; do
  "$yaml2json" "$wf" >"$scratch/$(basename "$wf").json" 2>"$scratch/err" || problem "$wf: $(cat "$scratch/err")"
done
# Every shell line of one host's files: the workflows' `run:` steps, GitLab's scripts.
lines() {
  case $1 in
    github) jq -r '.jobs[]?.steps[]?.run // empty' "$scratch"/*.yml.json "$scratch"/*.yaml.json 2>/dev/null ;;
    gitlab) jq -r 'to_entries[] | select(.value | type == "object") | .value
           | (.script, .before_script, .after_script) | select(.) | if type == "array" then .[] else . end' \
      "$scratch/gitlab.json" 2>/dev/null ;;
  esac
}
jobs=$(bash ci/job.sh --list 2>/dev/null | cut -f1)
[ -n "$jobs" ] || problem "ci/job.sh: missing, or --list names no job"
declare -A used=([github]="" [gitlab]="")
for host in github gitlab; do
while IFS= read -r line; do
  while IFS= read -r script; do
    [ -z "$script" ] || [ -f "$script" ] || problem "a pipeline runs $script, which does not exist"
  done < <(grep -oE '(^|[ /])ci/[A-Za-z0-9_.-]+' <<<"$line" | sed 's|^[ /]*||')
  if [[ $line =~ ci/job\.sh[[:space:]]+([A-Za-z0-9_-]+) ]]; then
    name=${BASH_REMATCH[1]}
    grep -qx -- "$name" <<<"$jobs" || problem "a pipeline runs 'ci/job.sh $name', but ci/job.sh has no job $name (its jobs: $(echo "$jobs" | tr '\n' ' '))"
    used[$host]+="$name"$'\n'
  fi
  # The words after `make` that are neither options nor VAR=value are targets.
  sed -nE 's/.*(^|[;&| ])make +([^;&|]*).*/\2/p' <<<"$line" | tr ' ' '\n' |
    grep -vE '^(-|$)|=' >>"$scratch/targets"
done < <(lines "$host")
done
for name in $jobs; do
  grep -qx -- "$name" <<<"${used[github]}" || problem "ci/job.sh has a job $name that the GitHub workflow does not run"
  grep -qx -- "$name" <<<"${used[gitlab]}" || problem "ci/job.sh has a job $name that the GitLab pipeline does not run"
done
bash ci/job.sh --targets >>"$scratch/targets" 2>/dev/null
# make's own database lists every target the Makefile can make (explicit ones; patterns as %).
make -C "$here" -qp 2>/dev/null | sed -nE 's/^([A-Za-z0-9][A-Za-z0-9_./%-]*):([^=]|$).*/\1/p' | sort -u >"$scratch/known"
while IFS= read -r t; do
  grep -qx -- "$t" "$scratch/known" || problem "make target '$t' is run by the pipeline but the Makefile has no such target"
done < <(sort -u "$scratch/targets")

# ---- 3. both hosts agree ----
# The workflow the comparison reads: ci.yml, or else the first one.
gh_wf="$scratch/ci.yml.json"
[ -f "$gh_wf" ] || gh_wf=$(find "$scratch" -name '*.y*ml.json' | sort | head -1)
if [ -n "$gh_wf" ] && [ -s "$scratch/gitlab.json" ]; then
  node "$here/ci/pipeline-graph.mjs" github "$gh_wf" >"$scratch/github.graph" 2>"$scratch/err" || problem ".github/workflows: $(cat "$scratch/err")"
  node "$here/ci/pipeline-graph.mjs" gitlab "$scratch/gitlab.json" >"$scratch/gitlab.graph" 2>"$scratch/err" || problem ".gitlab-ci.yml: $(cat "$scratch/err")"
  if ! diff=$(diff "$scratch/github.graph" "$scratch/gitlab.graph"); then
    problem "the two pipelines differ (< GitHub, > GitLab; each line: a job <- what runs before it):"$'\n'"$diff"
  fi
fi

# ---- 4. no secret in the files ----
for f in "${workflows[@]}" .gitlab-ci.yml; do
  [ -f "$f" ] || continue
  # A key, a token of a known shape, or a password in a URL.
  grep -nE -- '-----BEGIN [A-Z ]*PRIVATE KEY-----|gh[pousr]_[A-Za-z0-9]{20,}|glpat-[A-Za-z0-9_-]{20}|AKIA[0-9A-Z]{16}|xox[baprs]-[A-Za-z0-9-]{10,}|://[^/ :@]+:[^/ @$]+@' "$f" |
    while IFS= read -r hit; do echo "$f:${hit%%:*}: this looks like a secret written in the file"; done >>"$scratch/secrets"
done
# A variable named like a secret must take its value from the host's secret store.
for wf in "$scratch"/*.yml.json "$scratch"/*.yaml.json; do
  jq -r '.. | objects | (.env?, .with?) | objects | to_entries[]
         | select(.key | test("pass|token|secret|key|credential"; "i"))
         | select(.value | type != "string" or (test("^\\s*\\$\\{\\{\\s*(secrets\\.|github\\.token)") | not))
         | "\(.key)=\(.value)"' "$wf" 2>/dev/null |
    while IFS= read -r kv; do
      # actions/cache's `key:` is a cache key, not a secret.
      [[ $kv == key=* ]] && continue
      echo "$(basename "$wf" .json): ${kv%%=*} is set in the file; take it from \${{ secrets.${kv%%=*} }}"
    done >>"$scratch/secrets"
done
jq -r '.. | objects | .variables? | objects | to_entries[]
       | select(.key | test("pass|token|secret|key|credential"; "i"))
       | select(.value | type != "string" or (test("^\\s*\\$[A-Za-z_{]") | not)) | .key' "$scratch/gitlab.json" 2>/dev/null |
  while IFS= read -r k; do
    echo ".gitlab-ci.yml: $k is set in the file; define it as a masked CI/CD variable in the project's settings"
  done >>"$scratch/secrets"
if [ -s "$scratch/secrets" ]; then
  while IFS= read -r s; do problem "$s"; done <"$scratch/secrets"
fi

if [ "$problems" -gt 0 ]; then
  echo "ci-validate: $problems problem(s) in the pipeline files" >&2
  exit 1
fi
echo "ci-validate: ${workflows[*]} and .gitlab-ci.yml are valid against their schemas; their jobs, scripts and make targets exist; both run the same $(wc -l <"$scratch/github.graph") jobs in the same order; no secret in them"
