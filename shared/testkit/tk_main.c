/* tk_main.c — main() of every test binary: Criterion plus points, a shared server and a report.
 *
 * Criterion runs each test in a forked process and reports back to this runner process, where
 * our hooks see every result. We add what grading needs on top of Criterion's own output:
 * - when TASKD_BIN is set, one server of that stage for the whole suite (tests reach it through
 *   tk_shared()), stopped at the end — and a crash, a hang on SIGTERM or a sanitizer report in
 *   its log fails the suite like any test would;
 * - points per test (GRADED puts them in the test's description), a line per failed test with
 *   its message, the score, and a JSON file for the grader (TK_RESULTS). */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/options.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "testkit.h"

#include <criterion/internal/ordered-set.h>

struct tk_server *tk_server_spawn_shared(void);

#define SERVER_CHECK_POINTS 5

static struct {
    cJSON *tests; /* array of {"name","points","passed","message"} */
    long points, max_points;
    long passed, failed;
    struct buf failures; /* the human-readable lines, printed at the end */
} report;

static long points_of(const struct criterion_test *t)
{
    const char *d = t->data ? t->data->description : NULL;
    if (d && strncmp(d, "points:", 7) == 0)
        return atol(d + 7);
    return 1; /* a plain Test() still counts, for one point */
}

static void record(const char *name, long points, bool passed, const char *message)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "name", name);
    cJSON_AddNumberToObject(t, "points", (double)points);
    cJSON_AddBoolToObject(t, "passed", passed);
    if (message)
        cJSON_AddStringToObject(t, "message", message);
    cJSON_AddItemToArray(report.tests, t);
    report.max_points += points;
    if (passed) {
        report.points += points;
        report.passed++;
    } else {
        report.failed++;
        buf_printf(&report.failures, "  FAIL %s (%ld pt%s): %s\n", name, points,
                   points == 1 ? "" : "s", message ? message : "failed");
    }
}

ReportHook(POST_TEST)(struct criterion_test_stats *stats)
{
    const struct criterion_test *t = stats->test;
    char name[256];
    snprintf(name, sizeof name, "%s::%s", t->category, t->name);
    if (stats->test_status == CR_STATUS_SKIPPED)
        return;
    bool passed = stats->test_status == CR_STATUS_PASSED;
    char message[1024] = "";
    if (!passed) {
        for (const struct criterion_assert_stats *a = stats->asserts; a; a = a->next) {
            if (!a->passed) {
                snprintf(message, sizeof message, "%s", a->message ? a->message : "assertion");
                break;
            }
        }
        if (stats->timed_out)
            snprintf(message, sizeof message, "timed out");
        else if (stats->crashed || stats->signal)
            snprintf(message, sizeof message, "crashed (signal %d)", stats->signal);
        else if (!message[0])
            snprintf(message, sizeof message, "exited with status %d", stats->exit_code);
    }
    record(name, points_of(t), passed, passed ? NULL : message);
}

/* The recorded result named name, or NULL. */
static cJSON *recorded(const char *name)
{
    cJSON *t = NULL;
    cJSON_ArrayForEach(t, report.tests)
    {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "name"));
        if (n && strcmp(n, name) == 0)
            return t;
    }
    return NULL;
}

/* Turns a recorded pass into a failure (a crash in .fini comes after POST_TEST said "passed"). */
static void demote(cJSON *t, const char *name, const char *message)
{
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "passed")))
        return;
    long points = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(t, "points"));
    cJSON_ReplaceItemInObjectCaseSensitive(t, "passed", cJSON_CreateFalse());
    cJSON_DeleteItemFromObjectCaseSensitive(t, "message");
    cJSON_AddStringToObject(t, "message", message);
    report.points -= points;
    report.passed--;
    report.failed++;
    buf_printf(&report.failures, "  FAIL %s (%ld pt%s): %s\n", name, points, points == 1 ? "" : "s",
               message);
}

/* Tests whose teardown finished (POST_FINI): Criterion reports a test that crashes in its
 * .fini as passed, and one that crashes in its .init not at all. */
static cJSON *fini_done;

ReportHook(POST_FINI)(struct criterion_test_stats *stats)
{
    char name[256];
    snprintf(name, sizeof name, "%s::%s", stats->test->category, stats->test->name);
    if (!fini_done)
        fini_done = cJSON_CreateObject();
    if (fini_done && !cJSON_GetObjectItemCaseSensitive(fini_done, name))
        cJSON_AddTrueToObject(fini_done, name);
}

ReportHook(TEST_CRASH)(struct criterion_test_stats *stats)
{
    char name[256], message[64];
    snprintf(name, sizeof name, "%s::%s", stats->test->category, stats->test->name);
    snprintf(message, sizeof message, "crashed (signal %d)", stats->signal);
    if (!recorded(name))
        record(name, points_of(stats->test), false, message);
}

/* The last word on every test: one that crashed where no hook reported it must count as
 * failed, never as passed and never as absent — a grade must not improve because a test
 * crashed. */
ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    for (struct criterion_suite_stats *ss = stats->suites; ss; ss = ss->next) {
        for (struct criterion_test_stats *ts = ss->tests; ts; ts = ts->next) {
            const struct criterion_test *t = ts->test;
            if (!t || ts->test_status == CR_STATUS_SKIPPED)
                continue;
            char name[256];
            snprintf(name, sizeof name, "%s::%s", t->category, t->name);
            cJSON *r = recorded(name);
            if (!r)
                record(name, points_of(t), false, "crashed before it ran (in its .init)");
            else if (!cJSON_GetObjectItemCaseSensitive(fini_done, name))
                demote(r, name, "crashed in its teardown (.fini)");
        }
    }
    cJSON_Delete(fini_done);
    fini_done = NULL;
}

/* Looks for sanitizer reports in the server's log. */
static const char *sanitizer_report(const char *log_path)
{
    static char line[512];
    FILE *f = fopen(log_path, "r");
    if (!f)
        return NULL;
    const char *found = NULL;
    while (!found && fgets(line, sizeof line, f))
        if (strstr(line, "AddressSanitizer") || strstr(line, "LeakSanitizer") ||
            strstr(line, "runtime error:") || strstr(line, "ThreadSanitizer"))
            found = line;
    fclose(f);
    return found;
}

static void write_results(const char *suite)
{
    const char *path = getenv("TK_RESULTS");
    if (!path)
        return;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "suite", suite);
    cJSON_AddStringToObject(root, "stage", getenv("TASKD_BIN") ? getenv("TASKD_BIN") : "");
    cJSON_AddNumberToObject(root, "points", (double)report.points);
    cJSON_AddNumberToObject(root, "max_points", (double)report.max_points);
    cJSON_AddNumberToObject(root, "passed", (double)report.passed);
    cJSON_AddNumberToObject(root, "failed", (double)report.failed);
    cJSON_AddItemReferenceToObject(root, "tests", report.tests);
    char *text = cJSON_Print(root);
    FILE *f = fopen(path, "w");
    if (f && text) {
        fputs(text, f);
        fputc('\n', f);
    }
    if (f)
        fclose(f);
    else
        fprintf(stderr, "testkit: cannot write %s\n", path);
    cJSON_free(text);
    cJSON_Delete(root);
}

/* No test could run: every one is recorded as failed (with its points), so a grade never counts
 * a suite that did not run as smaller instead of failed. */
static void fail_everything(struct criterion_test_set *tests, const char *why, const char *suite)
{
    struct criterion_suite_set *ss;
    FOREACH_SET(ss, tests->suites)
    {
        struct criterion_test *t;
        FOREACH_SET(t, ss->tests)
        {
            char name[256];
            snprintf(name, sizeof name, "%s::%s", t->category, t->name);
            record(name, points_of(t), false, why);
        }
    }
    record("server::exits_cleanly_after_the_suite", SERVER_CHECK_POINTS, false, why);
    write_results(suite);
}

int main(int argc, char *argv[])
{
    const char *suite = getenv("TK_SUITE");
    if (!suite) {
        suite = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    }
    report.tests = cJSON_CreateArray();
    criterion_options.timeout = 60; /* a hung test fails instead of hanging the suite */

    struct criterion_test_set *tests = criterion_initialize();
    int rc = 0;
    if (!criterion_handle_args(argc, argv, true)) {
        criterion_finalize(tests);
        return 0; /* --help, --list and friends */
    }
    struct tk_server *shared = NULL;
    char shared_log[256] = "";
    if (getenv("TASKD_BIN")) {
        shared = tk_server_spawn_shared();
        const char *why = !shared                        ? "the shared server did not start"
                          : tk_server_login(shared) != 0 ? "could not log in on the shared server"
                                                         : NULL;
        if (why) {
            fprintf(stderr, "%s: %s: every test fails\n", suite, why);
            tk_server_stop(shared);
            fail_everything(tests, why, suite);
            criterion_finalize(tests);
            return 1;
        }
        if (tk_server_auth_header(shared))
            setenv("TK_SHARED_AUTH", tk_server_auth_header(shared), 1);
        setenv("TK_SHARED_URL", tk_server_url(shared), 1);
        setenv("TK_SHARED_LOG", tk_server_log_path(shared), 1);
        char db[600];
        snprintf(db, sizeof db, "DATABASE_URL=%s", tk_server_database_url(shared));
        setenv("TK_SHARED_DB", db, 1);
        snprintf(shared_log, sizeof shared_log, "%s", tk_server_log_path(shared));
    }

    rc = !criterion_run_all_tests(tests);

    if (shared) {
        /* Read the log before stopping: a clean stop removes the server's directory. */
        const char *san = sanitizer_report(shared_log);
        char san_copy[512] = "";
        if (san)
            snprintf(san_copy, sizeof san_copy, "%s", san);
        int status = tk_server_stop(shared);
        if (!san_copy[0] && status == 0) {
            record("server::exits_cleanly_after_the_suite", SERVER_CHECK_POINTS, true, NULL);
        } else {
            char msg[700];
            snprintf(msg, sizeof msg,
                     "expected the server to stop cleanly on SIGTERM with no sanitizer "
                     "report; got exit status %d%s%s",
                     status, san_copy[0] ? ", report: " : "", san_copy);
            record("server::exits_cleanly_after_the_suite", SERVER_CHECK_POINTS, false, msg);
            rc = 1;
        }
    }
    criterion_finalize(tests);

    if (report.failures.len)
        fprintf(stderr, "\n%s: failed tests\n%s", suite, report.failures.data);
    fprintf(stderr, "%s: %ld/%ld points, %ld passed, %ld failed\n", suite, report.points,
            report.max_points, report.passed, report.failed);
    write_results(suite);
    cJSON_Delete(report.tests);
    buf_free(&report.failures);
    return rc || report.failed ? 1 : 0;
}
