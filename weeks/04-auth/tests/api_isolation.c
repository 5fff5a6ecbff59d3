/* api_isolation.c — black-box tests that users cannot see each other's things (API.md: "a user
 * sees only their own tasks, jobs and exports: anything else is 404, never 403").
 *
 * Two users, A and B, on one private server, each logged in through POST /auth/login and each
 * request carrying exactly one of their tokens. B must not be able to read, change or delete A's
 * task, find it in any listing under any sort or filter, be served A's copy from the cache, see
 * A's export job or download A's file — and every one of those refusals must be the 404 of a
 * thing that does not exist (a 403 would confirm it does). The export test runs the real worker
 * (taskd-worker, beside TASKD_BIN, as week 3's suite does) so that the files exist for real and
 * B's own export can be checked to hold B's tasks only. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_helpers.h"
#include "api_w4_helpers.h"
#include "testkit.h"

#define WORKER_START_MS 10000
#define WORKER_STOP_MS  6000
#define JOB_WAIT_MS     15000
#define MAX_IDS         64

struct pair {
    struct tk_server *s;
    struct w4_user a, b;
};

static struct tk_proc *worker;

/* After every test: the worker first (it holds connections to the server's database). */
static void isolation_fini(void)
{
    tk_proc_stop(worker, SIGTERM, WORKER_STOP_MS);
    worker = NULL;
    w4_private_fini();
}

static void pair_start(struct pair *p, const char *const *settings)
{
    p->s = w4_private(settings);
    w4_user_new(p->s, "alice", &p->a);
    w4_user_new(p->s, "bob", &p->b);
}

/* POSTs json to /tasks as u, expecting 201; returns the id. */
static long long create_as(struct tk_server *s, const struct w4_user *u, const char *json)
{
    return w4_post_as(s, u, "/tasks", json, 201);
}

static bool has_id(const long long *ids, size_t n, long long id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

/* ------------------------------------------------------------------ tasks */

GRADED(isolation, another_users_task_is_404_for_get_patch_and_delete, 3, .fini = isolation_fini)
{
    struct pair p;
    pair_start(&p, NULL);
    long long id = create_as(p.s, &p.a, "{\"title\":\"alice's private task\"}");
    char path[64];
    api_task_path(id, path, sizeof path);

    /* What B gets for a task that does not exist at all: A's must look the same. */
    struct tk_response *none = w4_as(p.s, p.b.auth, "GET", "/tasks/999999999", NULL);
    w4_expect_404(none);

    struct {
        const char *method, *json, *if_match, *what;
    } tries[] = {
        {"GET", NULL, NULL, "GET"},
        {"PATCH", "{\"title\":\"bob was here\"}", NULL, "PATCH"},
        {"PATCH", "{\"title\":\"bob was here\"}", "If-Match: *", "PATCH with If-Match: *"},
        {"DELETE", NULL, NULL, "DELETE"},
        {"DELETE", NULL, "If-Match: \"1\"", "DELETE with If-Match: \"1\""},
    };
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        const char *headers[] = {
            p.b.auth, tries[i].json ? "Content-Type: application/json" : tries[i].if_match,
            tries[i].json ? tries[i].if_match : NULL, NULL};
        struct tk_response *r = tk_request(p.s, tries[i].method, path, headers, tries[i].json,
                                           tries[i].json ? strlen(tries[i].json) : 0);
        snprintf(r->what, sizeof r->what, "%s %s of user A, as user B", tries[i].what, path);
        w4_expect_404(r);
        tk_expect_json_str(r, "title", tk_json_str(none, "title"));
        tk_expect_json_str(r, "type", tk_json_str(none, "type"));
        tk_response_free(r);
    }
    tk_response_free(none);

    /* Nothing B did reached the task. */
    struct tk_response *r = w4_as(p.s, p.a.auth, "GET", path, NULL);
    snprintf(r->what, sizeof r->what, "GET %s as its owner, after B's attempts", path);
    tk_expect_status(r, 200);
    tk_expect_json_str(r, "title", "alice's private task");
    tk_expect_json_int(r, "version", 1);
    tk_response_free(r);
}

GRADED(isolation, listings_never_show_another_users_tasks, 2, .fini = isolation_fini)
{
    struct pair p;
    pair_start(&p, NULL);
    const char *shared_fields = "\"status\":\"in_progress\",\"priority\":\"high\","
                                "\"tags\":[\"shared\"]";
    char json[512];
    long long a_ids[2];
    snprintf(json, sizeof json,
             "{\"title\":\"alpha of alice\",\"description\":\"needle\",%s,"
             "\"due_at\":\"2030-01-01T00:00:00Z\"}",
             shared_fields);
    a_ids[0] = create_as(p.s, &p.a, json);
    a_ids[1] = create_as(p.s, &p.a, "{\"title\":\"alpha two\",\"tags\":[\"shared\"]}");
    snprintf(json, sizeof json,
             "{\"title\":\"alpha of bob\",%s,\"due_at\":\"2030-01-02T00:00:00Z\"}", shared_fields);
    long long b_id = create_as(p.s, &p.b, json);

    /* Each query, and whether B's own task matches it (so the filter is seen to work). */
    struct {
        const char *query;
        bool b_matches;
    } queries[] = {
        {"", true},
        {"sort=created_at", true},
        {"sort=-created_at", true},
        {"sort=due_at", true},
        {"sort=-due_at", true},
        {"sort=priority", true},
        {"sort=-priority", true},
        {"status=in_progress", true},
        {"priority=high", true},
        {"tag=shared", true},
        {"q=alpha", true},
        {"q=needle", false},
        {"due_before=2031-01-01T00:00:00Z", true},
        {"due_after=2029-01-01T00:00:00Z", true},
        {"status=todo", false},
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        long long ids[MAX_IDS];
        size_t n = w4_list_ids(p.s, p.b.auth, queries[i].query, ids, MAX_IDS);
        for (size_t k = 0; k < 2; k++)
            cr_assert(!has_id(ids, n, a_ids[k]),
                      "GET /tasks?%s as user B listed task %lld of user A", queries[i].query,
                      a_ids[k]);
        cr_assert(has_id(ids, n, b_id) == queries[i].b_matches &&
                      n == (queries[i].b_matches ? 1u : 0u),
                  "GET /tasks?%s as user B: expected %s, got %zu tasks", queries[i].query,
                  queries[i].b_matches ? "exactly B's own task" : "nothing", n);
    }
    long long ids[MAX_IDS];
    size_t n = w4_list_ids(p.s, p.a.auth, "", ids, MAX_IDS);
    cr_assert(n == 2 && has_id(ids, n, a_ids[0]) && has_id(ids, n, a_ids[1]),
              "GET /tasks as user A: expected exactly A's 2 tasks, got %zu", n);
}

GRADED(isolation, cached_task_is_not_served_to_another_user, 2, .fini = isolation_fini)
{
    struct pair p;
    pair_start(&p, (const char *const[]){"CACHE_BACKEND=redis", NULL});
    long long id = create_as(p.s, &p.a, "{\"title\":\"cached for alice\"}");
    char path[64], xc[32];
    api_task_path(id, path, sizeof path);
    const char *want[] = {"MISS", "HIT"};
    for (int i = 0; i < 2; i++) {
        struct tk_response *r = w4_as(p.s, p.a.auth, "GET", path, NULL);
        tk_expect_status(r, 200);
        const char *x = tk_header(r, "X-Cache", xc, sizeof xc);
        cr_assert(x && strcmp(x, want[i]) == 0,
                  "GET %s as its owner, read %d: expected X-Cache: %s, got %s (the cache must "
                  "be on for this test to mean anything)",
                  path, i + 1, want[i], x ? x : "none");
        tk_response_free(r);
    }
    struct tk_response *r = w4_as(p.s, p.b.auth, "GET", path, NULL);
    snprintf(r->what, sizeof r->what, "GET %s (in A's cache) as user B", path);
    w4_expect_404(r);
    tk_expect_no_header(r, "X-Cache");
    cr_assert(!strstr(r->body, "cached for alice"), "%s: the 404 carries A's task: %.*s", r->what,
              W4_SHOWN, r->body);
    tk_response_free(r);
}

/* ------------------------------------------------------------------ jobs and exports */

/* A worker on s's database and queue, once it says it has started. */
static void worker_start(struct tk_server *s)
{
    worker = w4_worker_start(s, WORKER_START_MS);
}

/* POST /exports as u: 202 and the job id. */
static long long export_as(struct tk_server *s, const struct w4_user *u)
{
    return w4_post_as(s, u, "/exports", NULL, 202);
}

/* Polls GET /jobs/{id} as u until it has succeeded. */
static void wait_succeeded(struct tk_server *s, const struct w4_user *u, long long id)
{
    w4_job_wait_succeeded(s, u, id, JOB_WAIT_MS);
}

/* The body of GET /exports/{id}.csv as u, expecting 200 (the caller frees it). */
static struct tk_response *download_as(struct tk_server *s, const struct w4_user *u, long long id)
{
    char path[64];
    snprintf(path, sizeof path, "/exports/%lld.csv", id);
    struct tk_response *r = w4_as(s, u->auth, "GET", path, NULL);
    snprintf(r->what, sizeof r->what, "GET %s as its owner", path);
    tk_expect_status(r, 200);
    return r;
}

GRADED(isolation, another_users_job_and_export_are_404, 3, .fini = isolation_fini)
{
    struct pair p;
    pair_start(&p, NULL);
    create_as(p.s, &p.a, "{\"title\":\"exported by alice\"}");
    create_as(p.s, &p.b, "{\"title\":\"exported by bob\"}");
    long long a_job = export_as(p.s, &p.a);
    char job_path[64], csv_path[64];
    snprintf(job_path, sizeof job_path, "/jobs/%lld", a_job);
    snprintf(csv_path, sizeof csv_path, "/exports/%lld.csv", a_job);

    struct tk_response *r = w4_as(p.s, p.b.auth, "GET", job_path, NULL);
    snprintf(r->what, sizeof r->what, "GET %s (A's queued export) as user B", job_path);
    w4_expect_404(r);
    tk_response_free(r);

    worker_start(p.s);
    wait_succeeded(p.s, &p.a, a_job);
    r = w4_as(p.s, p.b.auth, "GET", job_path, NULL);
    snprintf(r->what, sizeof r->what, "GET %s (A's finished export) as user B", job_path);
    w4_expect_404(r);
    tk_response_free(r);
    r = w4_as(p.s, p.b.auth, "GET", csv_path, NULL);
    snprintf(r->what, sizeof r->what, "GET %s (A's file) as user B", csv_path);
    w4_expect_404(r);
    cr_assert(!strstr(r->body, "exported by alice"), "%s: the 404 carries A's data", r->what);
    tk_response_free(r);

    r = download_as(p.s, &p.a, a_job);
    cr_assert(strstr(r->body, "exported by alice") && !strstr(r->body, "exported by bob"),
              "%s: A's export should hold A's task and not B's: %.*s", r->what, W4_SHOWN, r->body);
    tk_response_free(r);

    /* B's own export holds B's tasks only. */
    long long b_job = export_as(p.s, &p.b);
    wait_succeeded(p.s, &p.b, b_job);
    r = download_as(p.s, &p.b, b_job);
    cr_assert(strstr(r->body, "exported by bob") && !strstr(r->body, "exported by alice"),
              "%s: B's export should hold B's task and not A's: %.*s", r->what, W4_SHOWN, r->body);
    tk_response_free(r);
}

/* ------------------------------------------------------------------ /me */

GRADED(isolation, me_shows_each_user_their_own_account, 1, .fini = isolation_fini)
{
    struct pair p;
    pair_start(&p, NULL);
    const struct w4_user *users[] = {&p.a, &p.b};
    for (int i = 0; i < 2; i++) {
        struct tk_response *r = w4_as(p.s, users[i]->auth, "GET", "/me", NULL);
        snprintf(r->what, sizeof r->what, "GET /me as %.100s", users[i]->email);
        tk_expect_status(r, 200);
        tk_expect_json_int(r, "id", users[i]->id);
        tk_expect_json_str(r, "email", users[i]->email);
        tk_response_free(r);
    }
}
