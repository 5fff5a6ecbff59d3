#!/usr/bin/env bash
# test-pipelines.sh — `make test-pipelines`: the pipeline tooling of ci/, tested for real.
#   - ci/validate.sh passes the repository's pipeline files, and fails, naming the mistake, on
#     copies broken in each way it claims to catch (a validator that cannot fail checks nothing);
#   - ci/junit.sh turns results into JUnit XML that an XML parser reads back, failures and
#     awkward characters included;
#   - ci/local.sh (make ci) runs a pipeline's stages in order in a clean clone: a failed job stops
#     the later stages but not `when: always`, a manual job is listed and not run, and the run
#     happens in the clone, not in the working tree;
#   - make ci CI_JOBS=pipelines on this repository, from a clean clone of HEAD.
# Prints one line per check and a summary; exit status 1 when any check failed.
# shellcheck disable=SC2016 # eval's conditions are single-quoted on purpose (verdict, below)
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 2
yaml2json="$here/${BUILD:-build}/tools/yaml2json"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
passed=0 failed=0
ok() { echo "  ok    $1"; passed=$((passed + 1)); }
bad() { echo "  FAIL  $1"; [ -z "${2:-}" ] || printf '%s\n' "$2" | tail -n 15 | sed 's/^/        /'; failed=$((failed + 1)); }

# ---- the validator ----
echo "test-pipelines: ci/validate.sh"
if out=$(bash ci/validate.sh 2>&1); then ok "the repository's pipeline files pass"; else bad "the repository's pipeline files pass" "$out"; fi

# A copy of the pipeline files with one mistake: FILE, the text to replace, its replacement.
broken() {
  local case=$scratch/case
  rm -rf "$case" && mkdir -p "$case"
  cp -a .github .gitlab-ci.yml ci "$case/"
  python3 - "$case/$1" "$2" "$3" <<'EOF' || return 1
import sys
path, old, new = sys.argv[1:]
text = open(path).read()
if old not in text:
    sys.exit(f"{path}: the text to break is not there: {old!r}")
open(path, "w").write(text.replace(old, new, 1))
EOF
  echo "$case"
}
# expect_caught WHAT FILE OLD NEW PHRASE: the broken copy fails and the message has PHRASE.
expect_caught() {
  local what=$1 case out
  case=$(broken "$2" "$3" "$4") || { bad "$what: could not break the file" "$case"; return; }
  if out=$(bash ci/validate.sh "$case" 2>&1); then
    bad "$what: caught" "validate.sh passed a broken file"
  elif grep -qF -- "$5" <<<"$out"; then
    ok "$what: caught ($5)"
  else
    bad "$what: caught, with the message naming it ('$5')" "$out"
  fi
}
expect_caught "a GitHub key misspelt" .github/workflows/ci.yml "  lint:
    runs-on:" "  lint:
    runs_on:" "not a valid GitHub workflow"
expect_caught "a GitLab value out of range" .gitlab-ci.yml "report:
  stage: report
  when: always" "report:
  stage: report
  when: sometimes" "not a valid GitLab CI file"
expect_caught "a GitLab key misspelt" .gitlab-ci.yml "  artifacts:
    when: always
    paths:
      - build/results/" "  artifacts:
    when: always
    pathz:
      - build/results/" "pathz"
expect_caught "a job ci/job.sh does not have" .gitlab-ci.yml "bash ci/job.sh lint" "bash ci/job.sh lintt" "ci/job.sh has no job lintt"
expect_caught "a script that does not exist" .github/workflows/ci.yml "run: bash ci/job.sh lint" "run: bash ci/nope.sh lint" "ci/nope.sh, which does not exist"
expect_caught "a make target that does not exist" .gitlab-ci.yml "    - bash ci/job.sh pipelines" "    - bash ci/job.sh pipelines
    - make no-such-target" "make target 'no-such-target'"
expect_caught "a job of ci/job.sh that a pipeline does not run" .gitlab-ci.yml "  script:
    - bash ci/job.sh deploy-production" "  script:
    - echo no deploy" "a job deploy-production that the GitLab pipeline does not run"
expect_caught "the hosts in a different order" .github/workflows/ci.yml "  build:
    needs: [lint, pipelines]" "  build:
    needs: [lint]" "the two pipelines differ"
expect_caught "a token written in a GitHub file" .github/workflows/ci.yml "      - run: bash ci/job.sh lint" "      - run: bash ci/job.sh lint
        env:
          API_TOKEN: abc123" "API_TOKEN is set in the file"
expect_caught "a password written in a GitLab file" .gitlab-ci.yml "  DEBIAN_FRONTEND: noninteractive" "  DEBIAN_FRONTEND: noninteractive
  DB_PASSWORD: hunter2" "DB_PASSWORD is set in the file"
expect_caught "a private key pasted in a comment" .gitlab-ci.yml "stages:" "# -----BEGIN OPENSSH PRIVATE KEY-----
stages:" "looks like a secret"
case=$(broken .github/workflows/ci.yml "      - run: bash ci/job.sh lint" "      - run: bash ci/job.sh lint
        env:
          DEPLOY_KEY: \${{ secrets.DEPLOY_KEY }}")
if out=$(bash ci/validate.sh "$case" 2>&1); then ok "a secret from the host's store is accepted"; else bad "a secret from the host's store is accepted" "$out"; fi

# ---- JUnit XML ----
echo "test-pipelines: ci/junit.sh"
mkdir -p "$scratch/results/week-9"
cat >"$scratch/results/week-9/unit.json" <<'EOF'
{"suite": "week-9/unit", "stage": "", "points": 1, "max_points": 3, "passed": 1, "failed": 1,
 "tests": [{"name": "metrics::counts_requests", "points": 1, "passed": true, "seconds": 0.0125},
           {"name": "metrics::escapes", "points": 2, "passed": false, "seconds": 0.5,
            "message": "expected <a & \"b\"> got 'c'\u0001\nsecond line"}]}
EOF
if bash ci/junit.sh "$scratch/results" "$scratch/junit" >/dev/null 2>&1 &&
  out=$(python3 - "$scratch/junit/week-9.xml" 2>&1 <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites" and root.get("tests") == "2" and root.get("failures") == "1", root.attrib
cases = {c.get("name"): c for c in root.iter("testcase")}
assert set(cases) == {"counts_requests", "escapes"}, cases
assert cases["counts_requests"].get("classname") == "week-9.unit.metrics"
failure = cases["escapes"].find("failure")
assert failure is not None and failure.get("message") == "expected <a & \"b\"> got 'c'", failure.attrib
assert failure.text == "expected <a & \"b\"> got 'c'\nsecond line", failure.text
assert cases["counts_requests"].find("failure") is None
EOF
  ); then
  ok "results become JUnit XML: counts, class names, failure messages with < & \" ' and control characters"
else
  bad "results become JUnit XML" "${out:-junit.sh failed}"
fi
if bash ci/junit.sh "$scratch/empty" "$scratch/junit2" >/dev/null 2>&1; then
  bad "no results is an error, not an empty report"
else
  ok "no results is an error, not an empty report"
fi

# ---- make ci on a pipeline of our own ----
echo "test-pipelines: ci/local.sh (make ci)"
toy=$scratch/toy
mkdir -p "$toy/ci" && cp ci/local.sh "$toy/ci/"
cat >"$toy/.gitlab-ci.yml" <<'EOF'
stages: [one, two, three]
first:
  stage: one
  variables:
    PLAIN: word
    FROM_HOST: $CI_SOMETHING_ONLY_A_HOST_DEFINES
  script:
    - test "$PLAIN" = word && test -z "$FROM_HOST"
    - echo ran > first.txt
second:
  stage: two
  parallel:
    matrix:
      - X: [p, q]
  script:
    - test "$X" != q
third:
  stage: three
  script:
    - echo should not run
always:
  stage: three
  when: always
  script:
    - test -f first.txt
approve:
  stage: three
  when: manual
  script:
    - echo should not run either
EOF
git -C "$toy" init -q && git -C "$toy" add -A && git -C "$toy" -c user.name=t -c user.email=t@localhost commit -qm toy
echo dirty >"$toy/uncommitted.txt"
out=$(YAML2JSON="$yaml2json" bash "$toy/ci/local.sh" 2>&1)
status=$?
row() { grep -E "^  $1 +$2 +$3" <<<"$out" >/dev/null; }
# verdict WHAT COMMAND...: ok when the command succeeds, else FAIL with make ci's output. Several
# conditions at once go through eval, single-quoted so they are read when they run (SC2016,
# disabled for the file at its top).
verdict() {
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what" "$out"; fi
}
verdict "a failed job fails make ci (exit 1, was $status)" [ $status -eq 1 ]
# (first checks its variables: a plain one as written, one that names a variable only the host
# defines empty, as GitLab would have it when the host does not define it.)
verdict "the jobs run in stage order, the matrix expanded, each with its result" \
  eval 'row one first passed && row two "second p" passed && row two "second q" FAILED'
verdict "a failed stage stops the later ones" row three third "skipped \(stage two failed\)"
verdict "a when: always job runs after a failure, in the clone (it sees the first job's file)" row three always passed
verdict "a manual job is listed and not run" row three approve manual
verdict "the run is in a clean clone (nothing written to the working tree; uncommitted changes named)" \
  eval '[ ! -e "$toy/first.txt" ] && grep -q "uncommitted change" <<<"$out"'
out=$(CI_JOBS="first" YAML2JSON="$yaml2json" bash "$toy/ci/local.sh" 2>&1)
status=$?
verdict "CI_JOBS runs only the jobs it names (exit 0, was $status)" \
  eval '[ $status -eq 0 ] && row one first passed && row two "second q" "not selected"'
out=$(CI_JOBS="second:p" YAML2JSON="$yaml2json" bash "$toy/ci/local.sh" 2>&1)
status=$?
verdict "CI_JOBS=second:p runs one variant of a matrix job (exit 0, was $status)" \
  eval '[ $status -eq 0 ] && row two "second p" passed && row two "second q" "not selected"'

# ---- make ci on this repository ----
echo "test-pipelines: make ci CI_JOBS=pipelines on this repository"
if out=$(CI_JOBS=pipelines bash ci/local.sh 2>&1) && grep -qE '^  check +pipelines +passed' <<<"$out"; then
  ok "the pipelines job passes from a clean clone of HEAD"
else
  bad "the pipelines job passes from a clean clone of HEAD" "$out"
fi

echo "test-pipelines: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
