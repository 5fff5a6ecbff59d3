/* unit_jobs.c — the jobs table (jobs_repo.h) against a real PostgreSQL, and the CSV export
 * (export_csv.h) against the in-memory task store.
 *
 * Suite jobs_repo: each test takes a fresh, migrated database (unit_pg_fixture.h; run through
 * `make test-week-3`, which sets TK_FRESH_DB_CMD), so tests see only their own rows. The heart
 * of it is the fence: a worker's late answer for an attempt that is no longer current must
 * change nothing.
 *
 * Suite backoff: the worker's retry delay (worker.h), checked against its bounds, which hold
 * whatever the random draw.
 *
 * Suite export_csv: expected files are written out by hand, byte for byte, with a frozen clock
 * so the timestamps are known. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "export_csv.h"
#include "jobs_repo.h"
#include "pg_pool.h"
#include "task.h"
#include "task_repo.h"
#include "task_repo_factory.h"
#include "testkit.h"
#include "timeutil.h"
#include "unit_pg_fixture.h"
#include "utf8.h"
#include "worker.h"

#define T0  INT64_C(1796115600000000) /* 2026-12-01T09:00:00Z in µs */
#define SEC INT64_C(1000000)

/* ================================================================== jobs_repo */

/* job_init on each job of a NULL-terminated list. */
static void job_init_all(struct job *const *jobs)
{
    for (size_t i = 0; jobs[i]; i++)
        job_init(jobs[i]);
}

/* The end of a test: job_clear on each job of a NULL-terminated list, then the pool freed. */
static void jobs_done(struct pg_pool *p, struct job *const *jobs)
{
    for (size_t i = 0; jobs[i]; i++)
        job_clear(jobs[i]);
    pg_pool_free(p);
}

/* Asserts that a call returned want; `what` is the failure's "expected ..." sentence. */
static void expect_rc(int rc, int want, const char *what)
{
    cr_assert_eq(rc, want, "%s, got %d (%s)", what, rc, err_str(rc));
}

static struct pg_pool *pool_open(const char *url)
{
    struct pg_pool_options o = {.url = url, .size = 2, .wait_ms = 2000, .connect_timeout_s = 2};
    struct pg_pool *p = NULL;
    expect_rc(pg_pool_new(&o, &p), 0, "expected pg_pool_new to succeed");
    return p;
}

/* A new job of owner (type "export" unless given), asserting it was created. */
static void job_add(struct pg_pool *p, const struct job_new *n, struct job *out)
{
    bool created = false;
    expect_rc(jobs_create(p, n, out, &created), 0, "expected jobs_create to succeed");
    cr_assert(created, "expected jobs_create to report a new job");
}

static void start_ok(struct pg_pool *p, int64_t id, struct job *out, int want_attempts)
{
    int rc = jobs_start(p, id, out);
    cr_assert_eq(rc, 0, "expected jobs_start(%lld) to succeed, got %d (%s)", (long long)id, rc,
                 err_str(rc));
    cr_assert_str_eq(out->status, "running", "expected status running after start, got %s",
                     out->status);
    cr_assert_eq(out->attempts, want_attempts, "expected attempts %d after start, got %d",
                 want_attempts, out->attempts);
}

static void get_ok(struct pg_pool *p, int64_t owner, int64_t id, struct job *out)
{
    int rc = jobs_get(p, owner, id, out);
    cr_assert_eq(rc, 0, "expected jobs_get(owner %lld, id %lld) to succeed, got %d (%s)",
                 (long long)owner, (long long)id, rc, err_str(rc));
}

GRADED(jobs_repo, a_job_runs_once_and_a_stale_fence_changes_nothing, 3)
{
    struct pg_pool *p = pool_open(pg_test_migrated_url());
    struct job j, got, started;
    job_init_all((struct job *[]){&j, &got, &started, NULL});
    job_add(p, &(struct job_new){.owner_id = 7, .type = "export"}, &j);
    cr_assert(j.id > 0, "expected a positive id, got %lld", (long long)j.id);
    cr_assert_str_eq(j.type, "export", "expected type export, got %s", j.type);
    cr_assert_str_eq(j.status, "queued", "expected a new job to be queued, got %s", j.status);
    cr_assert_eq(j.attempts, 0, "expected 0 attempts on a new job, got %d", j.attempts);
    cr_assert_eq(j.max_attempts, 5, "expected the default of 5 attempts, got %d", j.max_attempts);
    cr_assert_str_eq(j.payload, "{}", "expected payload {} by default, got %s", j.payload);
    cr_assert(j.error == NULL && j.result_url == NULL, "expected no error and no result yet");
    int64_t now = clock_now_us();
    cr_assert(j.run_at > now - 60 * SEC && j.run_at < now + 60 * SEC,
              "expected run_at about now (run_at 0 = now), got %lld", (long long)j.run_at);

    get_ok(p, 7, j.id, &got);
    cr_assert_eq(got.id, j.id, "expected jobs_get to return job %lld, got %lld", (long long)j.id,
                 (long long)got.id);
    cr_assert_eq(got.owner_id, 7, "expected owner 7, got %lld", (long long)got.owner_id);

    start_ok(p, j.id, &started, 1);
    expect_rc(jobs_succeed(p, &started, "/exports/1.csv", "id\r\n", 0), 0,
              "expected jobs_succeed with the current fence to succeed");
    get_ok(p, 7, j.id, &got);
    cr_assert_str_eq(got.status, "succeeded", "expected succeeded, got %s", got.status);
    cr_assert(got.result_url && strcmp(got.result_url, "/exports/1.csv") == 0,
              "expected result_url /exports/1.csv, got %s",
              got.result_url ? got.result_url : "NULL");
    cr_assert_null(got.error, "expected no error on a succeeded job, got %s", got.error);

    expect_rc(jobs_succeed(p, &started, "/exports/1.csv", "id\r\n", 0), ERR_CONFLICT,
              "expected a second succeed with the old fence to be ERR_CONFLICT");
    expect_rc(jobs_fail(p, &started, "late", 0), ERR_CONFLICT,
              "expected a fail on a succeeded job to be ERR_CONFLICT");
    expect_rc(jobs_start(p, j.id, &got), ERR_CONFLICT,
              "expected starting a succeeded job to be ERR_CONFLICT (a duplicate delivery)");
    expect_rc(jobs_start(p, j.id + 1000, &got), ERR_NOT_FOUND,
              "expected starting a missing job to be ERR_NOT_FOUND");
    get_ok(p, 7, j.id, &got);
    cr_assert_str_eq(got.status, "succeeded", "expected the job to stay succeeded, got %s",
                     got.status);
    cr_assert_eq(got.attempts, 1, "expected attempts to stay 1, got %d", got.attempts);
    jobs_done(p, (struct job *[]){&j, &got, &started, NULL});
}

GRADED(jobs_repo, a_worker_presumed_dead_cannot_finish_a_redelivered_job, 2)
{
    struct pg_pool *p = pool_open(pg_test_migrated_url());
    struct job j, first, second, got;
    job_init_all((struct job *[]){&j, &first, &second, &got, NULL});
    job_add(p, &(struct job_new){.owner_id = 1, .type = "export"}, &j);
    start_ok(p, j.id, &first, 1);
    start_ok(p, j.id, &second, 2); /* the lease ran out and another worker took it */
    expect_rc(jobs_succeed(p, &first, "/exports/x.csv", "stale\r\n", 1), ERR_CONFLICT,
              "expected the first worker's succeed to be ERR_CONFLICT");
    expect_rc(jobs_fail(p, &first, "stale", 0), ERR_CONFLICT,
              "expected the first worker's fail to be ERR_CONFLICT");
    char *csv = NULL;
    size_t len = 0;
    expect_rc(jobs_export_csv(p, 1, j.id, &csv, &len), ERR_NOT_FOUND,
              "expected no file from the stale succeed");
    expect_rc(jobs_succeed(p, &second, "/exports/y.csv", "fresh\r\n", 1), 0,
              "expected the current worker's succeed to work");
    expect_rc(jobs_export_csv(p, 1, j.id, &csv, &len), 0, "expected the current worker's file");
    cr_assert(len == 7 && strcmp(csv, "fresh\r\n") == 0,
              "expected the file of attempt 2 (\"fresh\\r\\n\"), got %zu bytes: %s", len, csv);
    free(csv);
    jobs_done(p, (struct job *[]){&j, &first, &second, &got, NULL});
}

GRADED(jobs_repo, a_failure_with_retry_requeues_the_job_for_later, 2)
{
    struct pg_pool *p = pool_open(pg_test_migrated_url());
    struct job j, s, got;
    job_init_all((struct job *[]){&j, &s, &got, NULL});
    job_add(p, &(struct job_new){.owner_id = 3, .type = "reminder", .payload = "{\"task_id\":5}"},
            &j);
    start_ok(p, j.id, &s, 1);
    int64_t retry_at = T0 + 123456; /* microseconds survive the round trip */
    expect_rc(jobs_fail(p, &s, "SMTP server said 451", retry_at), 0,
              "expected jobs_fail with a retry to succeed");
    get_ok(p, 3, j.id, &got);
    cr_assert_str_eq(got.status, "queued", "expected a retried job to be queued, got %s",
                     got.status);
    cr_assert_eq(got.run_at, retry_at, "expected run_at %lld (the retry time), got %lld",
                 (long long)retry_at, (long long)got.run_at);
    cr_assert_eq(got.attempts, 1, "expected attempts kept at 1, got %d", got.attempts);
    cr_assert(got.error && strcmp(got.error, "SMTP server said 451") == 0,
              "expected the error stored, got %s", got.error ? got.error : "NULL");
    cr_assert(strstr(got.payload, "\"task_id\"") != NULL, "expected the payload kept, got %s",
              got.payload);
    start_ok(p, j.id, &s, 2);
    jobs_done(p, (struct job *[]){&j, &s, &got, NULL});
}

GRADED(jobs_repo, a_final_failure_stores_the_error_cut_to_1000_bytes_of_whole_characters, 2)
{
    const char *url = pg_test_migrated_url();
    struct pg_pool *p = pool_open(url);
    struct job j, s, got;
    job_init_all((struct job *[]){&j, &s, &got, NULL});
    job_add(p, &(struct job_new){.owner_id = 3, .type = "export"}, &j);
    start_ok(p, j.id, &s, 1);
    /* "x" then 750 two-byte "é": byte 1000 is the first half of a character, so 999 are kept. */
    char error[1 + 750 * 2 + 1];
    error[0] = 'x';
    for (int i = 0; i < 750; i++)
        memcpy(error + 1 + 2 * i, "\xc3\xa9", 2);
    error[sizeof error - 1] = '\0';
    expect_rc(jobs_fail(p, &s, error, 0), 0, "expected the final jobs_fail to succeed");
    get_ok(p, 3, j.id, &got);
    cr_assert_str_eq(got.status, "failed", "expected status failed, got %s", got.status);
    cr_assert_not_null(got.error, "expected the error stored");
    size_t n = strlen(got.error);
    cr_assert_eq(n, 999, "expected 999 bytes of error (1000 would split a character), got %zu", n);
    cr_assert(utf8_valid(got.error, n), "expected the stored error to be valid UTF-8");
    cr_assert(memcmp(got.error, error, n) == 0, "expected the stored error to be a prefix");
    PGconn *c = pg_test_connect(url);
    long long finished =
        pg_test_scalar(c, "SELECT count(*) FROM jobs WHERE finished_at IS NOT NULL");
    PQfinish(c);
    cr_assert_eq(finished, 1, "expected finished_at set on the failed job, %lld jobs have it",
                 finished);
    expect_rc(jobs_start(p, j.id, &s), ERR_CONFLICT,
              "expected starting a failed job to be ERR_CONFLICT");
    jobs_done(p, (struct job *[]){&j, &s, &got, NULL});
}

GRADED(jobs_repo, a_dedupe_key_makes_a_job_exist_once, 2)
{
    const char *url = pg_test_migrated_url();
    struct pg_pool *p = pool_open(url);
    struct job a, b;
    job_init_all((struct job *[]){&a, &b, NULL});
    struct job_new n = {.owner_id = 4, .type = "reminder", .dedupe_key = "reminder:9:1796115600"};
    job_add(p, &n, &a);
    bool created = true;
    expect_rc(jobs_create(p, &n, &b, &created), 0, "expected the second create to succeed");
    cr_assert(!created, "expected the second create with the same key to create nothing");
    cr_assert_eq(b.id, a.id, "expected the existing job %lld, got %lld", (long long)a.id,
                 (long long)b.id);
    cr_assert_str_eq(b.status, "queued", "expected the existing job's status, got %s", b.status);
    PGconn *c = pg_test_connect(url);
    long long rows = pg_test_scalar(c, "SELECT count(*) FROM jobs");
    PQfinish(c);
    cr_assert_eq(rows, 1, "expected one row in jobs, found %lld", rows);
    jobs_done(p, (struct job *[]){&a, &b, NULL});
}

GRADED(jobs_repo, another_owners_job_is_not_found, 1)
{
    struct pg_pool *p = pool_open(pg_test_migrated_url());
    struct job j, got;
    job_init_all((struct job *[]){&j, &got, NULL});
    job_add(p, &(struct job_new){.owner_id = 10, .type = "export"}, &j);
    expect_rc(jobs_get(p, 11, j.id, &got), ERR_NOT_FOUND,
              "expected owner 11 not to see owner 10's job");
    expect_rc(jobs_get(p, 10, j.id + 1, &got), ERR_NOT_FOUND,
              "expected a missing id to be ERR_NOT_FOUND");
    get_ok(p, 10, j.id, &got);
    jobs_done(p, (struct job *[]){&j, &got, NULL});
}

GRADED(jobs_repo, the_csv_is_served_only_after_success_and_only_to_its_owner, 2)
{
    struct pg_pool *p = pool_open(pg_test_migrated_url());
    struct job j, s, r;
    job_init_all((struct job *[]){&j, &s, &r, NULL});
    job_add(p, &(struct job_new){.owner_id = 20, .type = "export"}, &j);
    char *csv = NULL;
    size_t len = 0;
    expect_rc(jobs_export_csv(p, 20, j.id, &csv, &len), ERR_NOT_FOUND,
              "expected no file while queued");
    start_ok(p, j.id, &s, 1);
    expect_rc(jobs_export_csv(p, 20, j.id, &csv, &len), ERR_NOT_FOUND,
              "expected no file while running");
    const char body[] = EXPORT_CSV_HEADER "\r\n1,\"a,b\",,todo,normal,,,1,x,y\r\n";
    expect_rc(jobs_succeed(p, &s, "/exports/1.csv", body, 1), 0,
              "expected jobs_succeed to succeed");
    expect_rc(jobs_export_csv(p, 21, j.id, &csv, &len), ERR_NOT_FOUND,
              "expected owner 21 not to get owner 20's file");
    cr_assert_null(csv, "expected *csv NULL when not found");
    expect_rc(jobs_export_csv(p, 20, j.id, &csv, &len), 0, "expected the owner to get the file");
    cr_assert(len == sizeof body - 1 && memcmp(csv, body, len) == 0 && csv[len] == '\0',
              "expected the stored CSV byte for byte (%zu bytes), got %zu bytes: %s",
              sizeof body - 1, len, csv);
    free(csv);

    /* A job that is not an export has no file, even when it succeeded. */
    job_add(p, &(struct job_new){.owner_id = 20, .type = "reminder"}, &r);
    start_ok(p, r.id, &s, 1);
    expect_rc(jobs_succeed(p, &s, NULL, NULL, 0), 0, "expected a reminder's succeed to work");
    expect_rc(jobs_export_csv(p, 20, r.id, &csv, &len), ERR_NOT_FOUND,
              "expected no file for a reminder job");
    jobs_done(p, (struct job *[]){&j, &s, &r, NULL});
}

GRADED(jobs_repo, overdue_finds_due_queued_and_stuck_running_jobs_oldest_first, 2)
{
    struct pg_pool *p = pool_open(pg_test_migrated_url());
    struct job due, later, future, run;
    job_init_all((struct job *[]){&due, &later, &future, &run, NULL});
    int64_t now = clock_now_us();
    /* Created in an order different from their run_at order, so "oldest first" is tested. */
    job_add(p, &(struct job_new){.owner_id = 1, .type = "export", .run_at = now - 5 * SEC}, &later);
    job_add(p, &(struct job_new){.owner_id = 1, .type = "export", .run_at = now - 3600 * SEC},
            &due);
    job_add(p, &(struct job_new){.owner_id = 1, .type = "export", .run_at = now + 3600 * SEC},
            &future);
    int64_t ids[8];
    size_t n = 99;
    expect_rc(jobs_overdue(p, now, ids, 8, &n), 0, "expected jobs_overdue to succeed");
    cr_assert_eq(n, 2, "expected the 2 due jobs, got %zu", n);
    cr_assert(ids[0] == due.id && ids[1] == later.id,
              "expected ids %lld then %lld (oldest run_at first), got %lld, %lld",
              (long long)due.id, (long long)later.id, (long long)ids[0], (long long)ids[1]);
    int rc = jobs_overdue(p, now, ids, 1, &n);
    cr_assert(rc == 0 && n == 1 && ids[0] == due.id,
              "expected max 1 to give only the oldest (%lld), got rc %d, n %zu", (long long)due.id,
              rc, n);
    rc = jobs_overdue(p, now - 7200 * SEC, ids, 8, &n);
    cr_assert(rc == 0 && n == 0, "expected nothing due two hours ago, got rc %d, n %zu", rc, n);

    /* A running job counts once it has had no update since `before`: its worker died. */
    job_add(p, &(struct job_new){.owner_id = 1, .type = "export", .run_at = now - 3600 * SEC},
            &run);
    start_ok(p, run.id, &run, 1);
    rc = jobs_overdue(p, now - 7200 * SEC, ids, 8, &n);
    cr_assert(rc == 0 && n == 0, "expected a just-started job not to be overdue, got n %zu", n);
    expect_rc(jobs_overdue(p, clock_now_us() + 60 * SEC, ids, 8, &n), 0,
              "expected jobs_overdue to succeed");
    cr_assert_eq(n, 3, "expected 2 queued + 1 stale running job, got %zu", n);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found |= ids[i] == run.id;
    cr_assert(found, "expected the running job %lld among the overdue ones", (long long)run.id);
    for (size_t i = 0; i < n; i++)
        cr_assert_neq(ids[i], future.id, "expected the future job not to be overdue");
    jobs_done(p, (struct job *[]){&due, &later, &future, &run, NULL});
}

GRADED(jobs_repo, job_to_json_renders_the_api_object, 1)
{
    struct job j;
    job_init(&j);
    j.id = 42;
    j.owner_id = 9;
    snprintf(j.type, sizeof j.type, "export");
    snprintf(j.status, sizeof j.status, "succeeded");
    j.attempts = 2;
    j.result_url = strdup("/exports/42.csv");
    j.payload = strdup("{}");
    cr_assert(j.result_url && j.payload, "test bug: out of memory");
    j.created_at = T0 + 123456;
    j.updated_at = T0 + 5 * SEC;
    tk_expect_json_text(job_to_json(&j),
                        "{\"id\":42,\"type\":\"export\",\"status\":\"succeeded\",\"attempts\":2,"
                        "\"error\":null,\"result_url\":\"/exports/42.csv\","
                        "\"created_at\":\"2026-12-01T09:00:00.123456Z\","
                        "\"updated_at\":\"2026-12-01T09:00:05Z\"}");
    job_clear(&j);
}

/* ================================================================== export_csv */

static int64_t fake_now = T0;
static int64_t fake_clock(void)
{
    return fake_now;
}

static struct task_repo *memory_repo(void)
{
    clock_set(fake_clock);
    struct task_repo *r = NULL;
    expect_rc(task_repo_memory_open("memory:", &r), 0, "expected the memory repository to open");
    return r;
}

/* Stores a task of owner with these fields (tags: NULL-terminated list, may be NULL). */
static int64_t add_task(struct task_repo *r, int64_t owner, const char *title,
                        const char *description, const char *const *tags)
{
    struct task in, out;
    task_init(&in);
    task_init(&out);
    in.title = strdup(title);
    in.description = strdup(description);
    cr_assert(in.title && in.description, "test bug: out of memory");
    for (size_t i = 0; tags && tags[i]; i++)
        snprintf(in.tags[in.ntags++], sizeof in.tags[0], "%s", tags[i]);
    struct scope sc = {.owner_id = owner};
    expect_rc(task_repo_create(r, &sc, &in, &out), 0, "expected task_repo_create to succeed");
    int64_t id = out.id;
    task_clear(&in);
    task_clear(&out);
    fake_now += SEC;
    return id;
}

static char *build(struct task_repo *r, int64_t owner, int *rows)
{
    struct buf b = BUF_INIT;
    expect_rc(export_csv_build(r, owner, &b, rows), 0, "expected export_csv_build to succeed");
    cr_assert_not_null(b.data, "expected some CSV");
    return buf_steal(&b, NULL);
}

/* Builds owner 1's export of r, asserts it is want with want_rows rows, and frees r. */
static void expect_export(struct task_repo *r, int want_rows, const char *want)
{
    int rows = -1;
    char *csv = build(r, 1, &rows);
    cr_assert_str_eq(csv, want, "expected\n%s\ngot\n%s", want, csv);
    cr_assert_eq(rows, want_rows, "expected %d rows (owner 1's tasks only), got %d", want_rows,
                 rows);
    free(csv);
    task_repo_free(r);
}

GRADED(export_csv, an_empty_export_is_the_header_line, 1)
{
    struct task_repo *r = memory_repo();
    int rows = -1;
    char *csv = build(r, 1, &rows);
    const char *want = EXPORT_CSV_HEADER "\r\n";
    cr_assert_str_eq(csv, want, "expected only the header line with CRLF, got\n%s", csv);
    cr_assert_str_eq(csv,
                     "id,title,description,status,priority,due_at,tags,version,"
                     "created_at,updated_at\r\n",
                     "expected API.md's columns in order, got %s", csv);
    cr_assert_eq(rows, 0, "expected 0 rows, got %d", rows);
    free(csv);
    task_repo_free(r);
}

GRADED(export_csv, fields_are_quoted_as_rfc_4180_says, 2)
{
    struct task_repo *r = memory_repo();
    add_task(r, 1, "Plain", "", NULL);
    add_task(r, 1, "a, b", "say \"hi\"", (const char *const[]){"work", "q4", NULL});
    struct task in, out;
    task_init(&in);
    task_init(&out);
    in.title = strdup("lines");
    in.description = strdup("one\r\ntwo\nthree");
    in.status = TASK_DONE;
    in.priority = TASK_HIGH;
    in.has_due = true;
    in.due_at = T0 + 86400 * SEC + 500000;
    struct scope sc = {.owner_id = 1};
    cr_assert_eq(task_repo_create(r, &sc, &in, &out), 0, "expected the third task to be stored");
    task_clear(&in);
    task_clear(&out);
    add_task(r, 2, "someone else's", "", NULL);
    expect_export(r, 3,
                  EXPORT_CSV_HEADER
                  "\r\n"
                  "1,Plain,,todo,normal,,,1,2026-12-01T09:00:00Z,2026-12-01T09:00:00Z\r\n"
                  "2,\"a, b\",\"say \"\"hi\"\"\",todo,normal,,work;q4,1,2026-12-01T09:00:01Z,"
                  "2026-12-01T09:00:01Z\r\n"
                  "3,lines,\"one\r\ntwo\nthree\",done,high,2026-12-02T09:00:00.5Z,,1,"
                  "2026-12-01T09:00:02Z,2026-12-01T09:00:02Z\r\n");
}

GRADED(export_csv, cells_that_a_spreadsheet_would_run_as_formulas_get_an_apostrophe, 2)
{
    struct task_repo *r = memory_repo();
    add_task(r, 1, "=HYPERLINK(\"http://x\")", "@SUM(A1)", NULL);
    add_task(r, 1, "+1", "-2", (const char *const[]){"-urgent", NULL});
    add_task(r, 1, "a=b", "\tindented", NULL);
    add_task(r, 1, "=1,2", "\rcr", NULL);
    expect_export(
        r, 4,
        EXPORT_CSV_HEADER
        "\r\n"
        "1,\"'=HYPERLINK(\"\"http://x\"\")\",'@SUM(A1),todo,normal,,,1,2026-12-01T09:00:00Z,"
        "2026-12-01T09:00:00Z\r\n"
        "2,'+1,'-2,todo,normal,,'-urgent,1,2026-12-01T09:00:01Z,2026-12-01T09:00:01Z\r\n"
        "3,a=b,'\tindented,todo,normal,,,1,2026-12-01T09:00:02Z,2026-12-01T09:00:02Z\r\n"
        "4,\"'=1,2\",\"'\rcr\",todo,normal,,,1,2026-12-01T09:00:03Z,2026-12-01T09:00:03Z\r\n");
}

GRADED(export_csv, every_task_of_250_is_exported_once_in_order, 2)
{
    struct task_repo *r = memory_repo();
    for (int i = 0; i < 250; i++) {
        char title[32];
        snprintf(title, sizeof title, "task %d", i + 1);
        add_task(r, 5, title, "", NULL);
    }
    add_task(r, 6, "not mine", "", NULL);
    struct buf b = BUF_INIT;
    buf_puts(&b, "prefix|"); /* the export appends: what the caller had stays */
    int rows = -1;
    expect_rc(export_csv_build(r, 5, &b, &rows), 0, "expected export_csv_build to succeed");
    cr_assert_eq(rows, 250, "expected 250 rows (3 pages of 100), got %d", rows);
    cr_assert(
        strncmp(b.data, "prefix|" EXPORT_CSV_HEADER "\r\n", 7 + sizeof EXPORT_CSV_HEADER + 1) == 0,
        "expected the header appended after what the buffer held");
    const char *line = strstr(b.data, "\r\n") + 2;
    for (int i = 1; i <= 250; i++) {
        char want[64];
        int n = snprintf(want, sizeof want, "%d,task %d,,", i, i);
        cr_assert(strncmp(line, want, (size_t)n) == 0,
                  "expected line %d to start \"%s\", got %.40s", i, want, line);
        const char *end = strstr(line, "\r\n");
        cr_assert_not_null(end, "expected line %d to end in CRLF", i);
        line = end + 2;
    }
    cr_assert_str_eq(line, "", "expected nothing after the 250th line, got %.60s", line);
    buf_free(&b);
    task_repo_free(r);
}

/* ================================================================== backoff */

/* Retry n waits a random time in [d/2, d], d = base * 2^(n-1) capped at WORKER_BACKOFF_CAP_MS:
 * the delay grows with each failure, never past the cap, and workers that failed together do
 * not all come back at the same moment. Many draws per attempt, so a fixed delay or a draw
 * outside the bounds shows. */
GRADED(backoff, doubles_per_attempt_up_to_the_cap_with_jitter_in_the_upper_half, 2)
{
    cr_assert_eq(worker_backoff_ms(0, 3), 0, "a base of 0 means retry at once");
    for (int attempt = 1; attempt <= 12; attempt++) {
        int64_t d = 1000;
        for (int i = 1; i < attempt && d < WORKER_BACKOFF_CAP_MS; i++)
            d *= 2;
        if (d > WORKER_BACKOFF_CAP_MS)
            d = WORKER_BACKOFF_CAP_MS;
        int64_t lo = INT64_MAX, hi = 0;
        for (int k = 0; k < 200; k++) {
            int64_t ms = worker_backoff_ms(1000, attempt);
            cr_assert(ms >= d / 2 && ms <= d,
                      "worker_backoff_ms(1000, %d) = %lld: expected a value in [%lld, %lld]",
                      attempt, (long long)ms, (long long)(d / 2), (long long)d);
            lo = ms < lo ? ms : lo;
            hi = ms > hi ? ms : hi;
        }
        cr_assert(hi > lo, "worker_backoff_ms(1000, %d) gave %lld 200 times: expected jitter",
                  attempt, (long long)lo);
    }
}
