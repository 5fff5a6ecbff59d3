/* unit_pipeline.c — week 8's pipeline, graded: the test job of .github/workflows/ci.yml.
 *
 * `make ci-validate` checks the whole file against GitHub's schema and against .gitlab-ci.yml,
 * and `make ci` runs it; neither says which line of the test job is wrong. These tests read the
 * job as GitHub would (YAML loaded into JSON by week 6's loader, tests/support/unit_compose_doc.h)
 * and check what makes it right: it runs after the build, one job per part of make test at once
 * (and one failing part does not cancel the others), each starting from gcc's build and the npm
 * cache, running `ci/job.sh test PART`, and handing its results to the report job even when the
 * tests failed. The names it must agree with are read from where they are defined: the parts
 * from shared/scripts/test-all.sh, the build artifact's name from the build job, the results'
 * pattern from the report job.
 *
 * Which file: the repository's .github/workflows/ci.yml, or the learner's copy ci.yml in
 * $TASKD_LAB_FILES (labs.mk sets it for lab-8, lab-check-8 and solution-8). */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "testkit.h"
#include "unit_compose_doc.h"

/* ---- the file ---- */

static const char *pipeline_path(void)
{
    return tk_graded_file("ci.yml", ".github/workflows/ci.yml");
}

/* The whole file as JSON; the test fails when it cannot be read or is not YAML. */
static cJSON *load_pipeline(void)
{
    const char *path = pipeline_path();
    size_t len = 0;
    char *text = tk_read_file(path, &len);
    cr_assert(text, "cannot read %s", path);
    char why[512];
    cJSON *doc = compose_doc_yaml(text, len, why, sizeof why);
    free(text);
    cr_assert(doc, "%s is not valid YAML: %s", path, why);
    return doc;
}

static const cJSON *job(const cJSON *doc, const char *name)
{
    const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(doc, "jobs");
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(jobs, name);
    cr_assert(cJSON_IsObject(j), "%s: expected a job \"%s\" under jobs:", pipeline_path(), name);
    return j;
}

/* The step of job j that `uses: ACTION@...` (the first, from index from on), its index in *at;
 * NULL when none. */
static const cJSON *step_using(const cJSON *j, const char *action, int from, int *at)
{
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(j, "steps");
    int i = 0;
    const cJSON *s = NULL;
    cJSON_ArrayForEach(s, steps)
    {
        const cJSON *uses = cJSON_GetObjectItemCaseSensitive(s, "uses");
        size_t n = strlen(action);
        if (i >= from && cJSON_IsString(uses) && strncmp(uses->valuestring, action, n) == 0 &&
            uses->valuestring[n] == '@') {
            if (at)
                *at = i;
            return s;
        }
        i++;
    }
    return NULL;
}

/* The string at path a > b in object o, or NULL. */
static const char *str_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The index of the step of job j whose `run:` is command (spaces squeezed, quotes dropped:
 * "${{ matrix.part }}" quoted is the same command), or -1. */
static int run_step(const cJSON *j, const char *command)
{
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(j, "steps");
    int i = 0;
    const cJSON *s = NULL;
    cJSON_ArrayForEach(s, steps)
    {
        const char *run = str_at(s, "run", NULL);
        if (run) {
            char squeezed[512];
            size_t n = 0;
            for (const char *p = run; *p && n + 1 < sizeof squeezed; p++)
                if (!(*p == ' ' && (n == 0 || squeezed[n - 1] == ' ')) && *p != '\n' && *p != '"' &&
                    *p != '\'')
                    squeezed[n++] = *p;
            while (n > 0 && squeezed[n - 1] == ' ')
                n--;
            squeezed[n] = '\0';
            if (strcmp(squeezed, command) == 0)
                return i;
        }
        i++;
    }
    return -1;
}

/* The parts of make test, as shared/scripts/test-all.sh defines them ("suites labs ..."). */
static void make_test_parts(char *out, size_t len)
{
    int rc = tk_sh(out, len,
                   "sed -n 's/^parts=\" ${TEST_PARTS:-\\(.*\\)} \"$/\\1/p' "
                   "shared/scripts/test-all.sh");
    out[strcspn(out, "\n")] = '\0';
    cr_assert(rc == 0 && *out, "test bug: no default parts= line in shared/scripts/test-all.sh");
}

/* ---- the test job (exercise 8.1) ---- */

GRADED(pipeline, the_test_job_runs_after_the_build, 1)
{
    cJSON *doc = load_pipeline();
    const cJSON *cond = cJSON_GetObjectItemCaseSensitive(job(doc, "test"), "if");
    cr_assert(!cond,
              "%s: jobs.test has an if: %s: the tests must run on every push and pull request, "
              "or the merge is not protected by them",
              pipeline_path(),
              cJSON_IsString(cond) ? cond->valuestring : (cJSON_IsTrue(cond) ? "true" : "false"));
    const cJSON *needs = cJSON_GetObjectItemCaseSensitive(job(doc, "test"), "needs");
    bool found = cJSON_IsString(needs) && strcmp(needs->valuestring, "build") == 0;
    if (cJSON_IsArray(needs)) {
        const cJSON *n = NULL;
        cJSON_ArrayForEach(n, needs)
        {
            found = found || (cJSON_IsString(n) && strcmp(n->valuestring, "build") == 0);
        }
    }
    cr_assert(found,
              "%s: jobs.test: expected \"needs: build\": it tests gcc's build, which the build "
              "job makes (and without it GitHub starts every job at once)",
              pipeline_path());
    cJSON_Delete(doc);
}

GRADED(pipeline, the_test_job_fans_out_over_every_part_of_make_test, 2)
{
    cJSON *doc = load_pipeline();
    char parts[256];
    make_test_parts(parts, sizeof parts);
    const cJSON *test = job(doc, "test");
    const cJSON *matrix = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(test, "strategy"), "matrix");
    const cJSON *part = cJSON_GetObjectItemCaseSensitive(matrix, "part");
    cr_assert(cJSON_IsArray(part),
              "%s: jobs.test: expected strategy.matrix.part, a list of the parts of make test "
              "(%s): one job each, all at once",
              pipeline_path(), parts);
    char listed[256] = "";
    int n = 0;
    const cJSON *p = NULL;
    cJSON_ArrayForEach(p, part)
    {
        cr_assert(cJSON_IsString(p), "%s: jobs.test: strategy.matrix.part holds a non-string",
                  pipeline_path());
        char word[80];
        snprintf(word, sizeof word, " %s ", p->valuestring);
        char padded[300];
        snprintf(padded, sizeof padded, " %s ", parts);
        cr_assert(strstr(padded, word),
                  "%s: jobs.test: strategy.matrix.part lists \"%s\", which is not a part of make "
                  "test (the parts: %s)",
                  pipeline_path(), p->valuestring, parts);
        snprintf(listed + strlen(listed), sizeof listed - strlen(listed), " %s ", p->valuestring);
        n++;
    }
    int want = 0;
    char copy[256];
    snprintf(copy, sizeof copy, "%s", parts);
    for (char *w = strtok(copy, " "); w; w = strtok(NULL, " ")) {
        char word[80];
        snprintf(word, sizeof word, " %s ", w);
        cr_assert(strstr(listed, word),
                  "%s: jobs.test: strategy.matrix.part leaves out \"%s\": that part of make test "
                  "would never run in the pipeline (the parts: %s)",
                  pipeline_path(), w, parts);
        want++;
    }
    cr_assert(n == want, "%s: jobs.test: strategy.matrix.part lists a part twice", pipeline_path());
    cJSON_Delete(doc);
}

GRADED(pipeline, one_failing_part_does_not_cancel_the_others, 1)
{
    cJSON *doc = load_pipeline();
    const cJSON *strategy = cJSON_GetObjectItemCaseSensitive(job(doc, "test"), "strategy");
    const cJSON *ff = cJSON_GetObjectItemCaseSensitive(strategy, "fail-fast");
    cr_assert(cJSON_IsFalse(ff),
              "%s: jobs.test: expected strategy.fail-fast: false. GitHub's default (true) cancels "
              "the other parts as soon as one fails, so one failing test hides the results of "
              "the four other parts",
              pipeline_path());
    cJSON_Delete(doc);
}

GRADED(pipeline, the_test_job_starts_from_gccs_build_and_the_npm_cache, 2)
{
    cJSON *doc = load_pipeline();
    const cJSON *test = job(doc, "test");
    int checkout = -1, cache = -1, download = -1;
    cr_assert(step_using(test, "actions/checkout", 0, &checkout) && checkout == 0,
              "%s: jobs.test: expected actions/checkout as the first step (a job starts on an "
              "empty runner)",
              pipeline_path());
    const cJSON *c = step_using(test, "actions/cache", 0, &cache);
    const char *cpath = c ? str_at(c, "with", "path") : NULL;
    const char *ckey = c ? str_at(c, "with", "key") : NULL;
    cr_assert(cpath && strcmp(cpath, "shared/npm/node_modules") == 0 && ckey &&
                  strstr(ckey, "hashFiles('shared/npm/package-lock.json')"),
              "%s: jobs.test: expected an actions/cache step for shared/npm/node_modules keyed by "
              "hashFiles('shared/npm/package-lock.json'), as the other jobs have (the docs part "
              "runs Prism and Chromium's driver from there)",
              pipeline_path());
    /* The name the build job uploads gcc's build under. */
    const cJSON *up = step_using(job(doc, "build"), "actions/upload-artifact", 0, NULL);
    const char *artifact = up ? str_at(up, "with", "name") : NULL;
    cr_assert(artifact, "%s: jobs.build uploads no artifact (the file's build job is broken)",
              pipeline_path());
    const cJSON *d = step_using(test, "actions/download-artifact", 0, &download);
    const char *name = d ? str_at(d, "with", "name") : NULL;
    cr_assert(name && strcmp(name, artifact) == 0,
              "%s: jobs.test: expected an actions/download-artifact step with name: %s (what the "
              "build job uploads): without it every part builds everything again, %s",
              pipeline_path(), artifact, name ? "and this one names another artifact" : "");
    const char *into = str_at(d, "with", "path");
    cr_assert(!into || strcmp(into, ".") == 0 || strcmp(into, "./") == 0,
              "%s: jobs.test: the download has path: %s: expected none (the repository's root), "
              "where ci/job.sh test looks for build-gcc.tar; anywhere else it is not found, and "
              "each part quietly builds everything again",
              pipeline_path(), into);
    int run = run_step(test, "bash ci/job.sh test ${{ matrix.part }}");
    cr_assert(run < 0 || download < run,
              "%s: jobs.test: the download must come before the step that runs the tests",
              pipeline_path());
    cJSON_Delete(doc);
}

GRADED(pipeline, the_test_job_runs_ci_job_sh_test_with_its_part, 2)
{
    cJSON *doc = load_pipeline();
    const cJSON *test = job(doc, "test");
    cr_assert(run_step(test, "bash ci/job.sh test ${{ matrix.part }}") >= 0,
              "%s: jobs.test: expected a step \"run: bash ci/job.sh test ${{ matrix.part }}\": "
              "every job is one ci/job.sh line, so that make ci and GitLab run the same thing",
              pipeline_path());
    cJSON_Delete(doc);
}

GRADED(pipeline, results_are_uploaded_even_when_the_tests_fail, 2)
{
    cJSON *doc = load_pipeline();
    const cJSON *test = job(doc, "test");
    /* What the report job downloads: a pattern, results-*. */
    const cJSON *down = step_using(job(doc, "report"), "actions/download-artifact", 0, NULL);
    const char *pattern = down ? str_at(down, "with", "pattern") : NULL;
    cr_assert(pattern, "%s: jobs.report downloads no pattern (the file's report job is broken)",
              pipeline_path());
    const cJSON *up = NULL;
    int from = 0, at = -1;
    const char *name = NULL, *path = NULL, *cond = NULL;
    while ((up = step_using(test, "actions/upload-artifact", from, &at)) != NULL) {
        name = str_at(up, "with", "name");
        path = str_at(up, "with", "path");
        cond = str_at(up, "if", NULL);
        if (path && strncmp(path, "build/results", 13) == 0)
            break;
        from = at + 1;
    }
    cr_assert(up,
              "%s: jobs.test: expected an actions/upload-artifact step with path: build/results/ "
              "(each part's results, which the report job grades)",
              pipeline_path());
    cr_assert(name && strstr(name, "${{ matrix.part }}") && fnmatch(pattern, name, 0) == 0,
              "%s: jobs.test: the results' artifact is named \"%s\": expected a name that holds "
              "${{ matrix.part }} (five jobs may not upload under one name) and that the report "
              "job's pattern %s matches",
              pipeline_path(), name ? name : "(none)", pattern);
    char bare[64] = "";
    for (const char *p = cond ? cond : ""; *p && strlen(bare) + 1 < sizeof bare; p++)
        if (*p != ' ' && *p != '$' && *p != '{' && *p != '}')
            bare[strlen(bare)] = *p; /* "${{ always() }}" is always() */
    cr_assert(strcmp(bare, "always()") == 0 || strcmp(bare, "!cancelled()") == 0,
              "%s: jobs.test: the results' upload has %s%s: expected \"if: always()\". A step is "
              "skipped once an earlier one failed, so the results of a failing part, the ones "
              "you need, would never reach the report",
              pipeline_path(), cond ? "if: " : "no if:", cond ? cond : "");
    cJSON_Delete(doc);
}
