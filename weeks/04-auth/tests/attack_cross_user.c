/* attack_cross_user.c — user B reaches for user A's things on every route of the route table.
 *
 * A owns a task (read twice, so the cache holds it) and a finished export (the real worker ran
 * it). B owns nothing, so every id B tries is one of A's: on every route of /openapi.json with an
 * {id}, under every method it documents, each of A's ids must be a 404 to B (never 403, which
 * would confirm it exists) whose body holds nothing of A's; every listing B can GET must hold
 * nothing of A's either. Afterwards A's task and export are unchanged. A route a later week adds
 * joins this the day it is documented (support/api_routes.h). api_isolation.c grades the main
 * cases one by one. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_attack.h"
#include "api_helpers.h"
#include "api_routes.h"
#include "api_w4_helpers.h"
#include "testkit.h"

#define SECRET          "secret-of-user-a"
#define WORKER_START_MS 10000
#define WORKER_STOP_MS  6000
#define JOB_WAIT_MS     15000

static struct tk_proc *worker;

/* The worker first: it holds connections to the server's database. */
static void cross_user_fini(void)
{
    tk_proc_stop(worker, SIGTERM, WORKER_STOP_MS);
    worker = NULL;
    w4_private_fini();
}

/* True when the answer carries something of A's. */
static bool leaks(const struct tk_response *r, const struct w4_user *a)
{
    return strstr(r->body, SECRET) != NULL || strstr(r->body, a->email) != NULL;
}

/* One request of B's for one of A's ids on route r. */
static void try_id(struct tk_server *s, struct api_attack_tally *t, const struct w4_user *a,
                   const struct w4_user *b, const struct api_route *r, long long id,
                   const char *whose)
{
    char id_text[32], path[API_ROUTE_PATH_MAX + 32];
    snprintf(id_text, sizeof id_text, "%lld", id);
    if (!api_route_path(r, id_text, path, sizeof path))
        return;
    const char *body = r->has_body ? "{\"title\":\"taken by B\"}" : NULL;
    struct tk_response *res = w4_as(s, b->auth, r->method, path, body);
    bool leaked = leaks(res, a);
    if (res->status >= 500)
        t->server_errors++;
    api_attack_result(t, res->status == 404 && !leaked, "%s %s (A's %s) as B: %ld%s %.*s",
                      r->method, path, whose, res->status, leaked ? " with A's data:" : "",
                      W4_SHOWN, res->body);
    tk_response_free(res);
}

Test(cross_user, another_users_resources_are_404_on_every_route, .fini = cross_user_fini)
{
    struct tk_server *s = w4_private(NULL);
    struct w4_user a, b;
    w4_user_new(s, "owner", &a);
    w4_user_new(s, "intruder", &b);
    char task_path[64];
    long long task = w4_post_as(s, &a, "/tasks", "{\"title\":\"" SECRET "\"}", 201);
    snprintf(task_path, sizeof task_path, "/tasks/%lld", task);
    for (int i = 0; i < 2; i++) { /* the second read is served from the cache */
        struct tk_response *r = w4_as(s, a.auth, "GET", task_path, NULL);
        tk_expect_status(r, 200);
        tk_response_free(r);
    }
    struct api_routes *routes = api_routes_load(s);
    bool has_exports = false;
    for (size_t i = 0; i < api_routes_count(routes); i++)
        has_exports |= strcmp(api_routes_at(routes, i)->resource, "exports") == 0;
    long long job = 0;
    if (has_exports) {
        job = w4_post_as(s, &a, "/exports", NULL, 202);
        worker = w4_worker_start(s, WORKER_START_MS);
        w4_job_wait_succeeded(s, &a, job, JOB_WAIT_MS);
    }

    struct api_attack_tally t;
    api_attack_begin(&t, "cross_user");
    size_t id_routes = 0, listings = 0;
    /* The writes (PATCH, DELETE) come after the reads in the document's order of methods; that
     * a write of B's changed nothing is checked at the end. */
    for (size_t i = 0; i < api_routes_count(routes); i++) {
        const struct api_route *r = api_routes_at(routes, i);
        if (r->has_id) {
            id_routes++;
            try_id(s, &t, &a, &b, r, task, "task");
            if (job)
                try_id(s, &t, &a, &b, r, job, "job");
        } else if (strcmp(r->method, "GET") == 0) {
            listings++;
            struct tk_response *res = w4_as(s, b.auth, "GET", r->path, NULL);
            bool leaked = leaks(res, &a);
            api_attack_result(&t, !leaked && res->status < 500, "GET %s as B: %ld%s %.*s", r->path,
                              res->status, leaked ? " with A's data:" : "", W4_SHOWN, res->body);
            tk_response_free(res);
        }
    }
    /* What B tried changed nothing of A's. */
    struct tk_response *r = w4_as(s, a.auth, "GET", task_path, NULL);
    snprintf(r->what, sizeof r->what, "GET %s as A after B's attempts", task_path);
    tk_expect_status(r, 200);
    tk_expect_json_str(r, "title", SECRET);
    tk_response_free(r);
    if (job) {
        char csv_path[64];
        snprintf(csv_path, sizeof csv_path, "/exports/%lld.csv", job);
        r = w4_as(s, a.auth, "GET", csv_path, NULL);
        snprintf(r->what, sizeof r->what, "GET %s as A after B's attempts", csv_path);
        tk_expect_status(r, 200);
        cr_assert(strstr(r->body, SECRET), "%s: A's export lost A's task: %.*s", r->what, W4_SHOWN,
                  r->body);
        tk_response_free(r);
    }
    api_attack_figure("%ld cross-user requests (%zu routes with an id x A's task%s, cached; %zu "
                      "listings): %ld 404 or clean, %ld leaks; A's data intact",
                      t.tried, id_routes, job ? " and export" : "", listings, t.refused,
                      t.got_through);
    api_routes_free(routes);
    api_attack_end(&t);
}
