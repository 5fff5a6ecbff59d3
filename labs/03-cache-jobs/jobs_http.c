/* Lab copy of weeks/03-cache-jobs/src/jobs_http.c (made by shared/scripts/labgen.sh): write your code here.
 * Each TODO(lab N.M) is one exercise; labs/03-cache-jobs/README.md explains them. */
/* jobs_http.c — handlers for POST /exports, GET /jobs/{id} and GET /exports/{id}.csv (see
 * jobs_http.h).
 *
 * POST /exports asks for work that takes a while, so it answers 202 Accepted at once with where
 * to watch it (Location: /jobs/<id>). The order matters: the row is inserted first and the id
 * pushed to Redis second. If the push fails the client still gets its 202, because the row is
 * the truth: the worker's sweeper (jobs_overdue) finds queued jobs that are due and pushes them
 * again. The other order could queue an id whose row never came to exist.
 *
 * The body of POST /exports: an export has no options (yet), so the request needs no body.
 *   - no body at all: accepted, whatever Content-Type says (a bare `curl -X POST` works);
 *   - a body: it must be JSON (else 415), well-formed (else 400) and an object (else 400), and
 *     that object must be empty: every member is an unknown field, 422 naming each one, as for
 *     any other resource. So `{}` is accepted and nothing else is.
 * Since the route is not registered as a JSON-body route (which would refuse the bare POST
 * with 415), the media type of a non-empty body is checked here.
 *
 * GET /exports/{id}.csv: the router matches whole path segments only, so "{id:id}.csv" cannot
 * be a pattern; the route is /exports/{name} and the name is parsed here, strictly: a canonical
 * id followed by ".csv", or 404 like any other unknown path. */
#include "jobs_http.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "err.h"
#include "field_errors.h"
#include "http.h"
#include "http_json.h"
#include "scope_http.h"
#include "jobs_repo.h"
#include "locals.h"
#include "log.h"
#include "problem.h"
#include "queue.h"

struct jobs_http {
    struct pg_pool *pool;
    struct queue *queue; /* NULL: no queue, the sweeper finds new jobs */
};

/* What POST /exports notes when it has queued a job (jobs_http_queued). */
static const struct locals_key queued_key = {.name = "job_queued"};

const char *jobs_http_queued(const struct locals *l)
{
    return locals_get_int(l, &queued_key) == 1 ? "export" : NULL;
}

/* Sends the answer for a failed jobs_repo call; 503 tells clients when to come back. */
static void send_repo_error(struct http_res *res, int rc, const char *not_found)
{
    switch (rc) {
    case ERR_NOT_FOUND:
        problem_send(res, 404, not_found);
        break;
    case ERR_UNAVAILABLE:
        problem_send_unavailable(res, "the database is not available; try again shortly");
        break;
    default:
        problem_send_err(res, rc, NULL);
        break;
    }
}

/* Checks POST /exports' body (see the top of the file). 0, or answers itself and returns
 * non-zero. */
static int check_export_body(const struct http_req *req, struct http_res *res)
{
    size_t len = 0;
    const char *body = http_req_body(req, &len);
    if (!body || len == 0)
        return 0;
    if (!http_content_type_json(http_req_header(req, "Content-Type"), 0)) {
        problem_send(res, 415, "send no body, or {} as application/json (charset utf-8)");
        return ERR_INVALID;
    }
    cJSON *obj = NULL;
    struct field_errors *errs = NULL;
    int rc = http_json_object(req, res, &obj, &errs);
    if (rc != 0)
        goto done; /* answered */
    /* Every member is unknown; field names were checked as UTF-8 by the strict parser. */
    for (const cJSON *m = obj->child; m && rc == 0; m = m->next)
        if (!field_errors_has(errs, m->string))
            rc = field_errors_add(errs, m->string, "is not a known field");
    if (rc != 0) {
        problem_send_err(res, rc, NULL);
    } else if (field_errors_count(errs) > 0) {
        problem_send_fields(res, 422, "an export takes no options: send no body, or {}", errs);
        rc = ERR_INVALID;
    }
done:
    cJSON_Delete(obj);
    field_errors_free(errs);
    return rc;
}

/* ------------------------------------------------------------------ routes */

static void create_export(struct http_req *req, struct http_res *res, void *ctx)
{
    struct jobs_http *jh = ctx;
    if (check_export_body(req, res) != 0)
        return;
    struct job j;
    job_init(&j);
    cJSON *out = NULL;
    /* TODO(lab 3.12): Insert the job's row (jobs_create), then push its id; a failed push is OK. */
    log_msg(LOG_ERROR, "TODO(lab 3.12)"); problem_send(res, 501, "TODO"); goto done;
    /* Best effort, like X-Cache: with the locals full only the count is lost, never the job. */
    (void)locals_set_int(http_req_locals(req), &queued_key, 1);
    char location[40];
    snprintf(location, sizeof location, "/jobs/%lld", (long long)j.id);
    out = cJSON_CreateObject();
    if (!out || !cJSON_AddNumberToObject(out, "id", (double)j.id) ||
        !cJSON_AddStringToObject(out, "type", j.type) ||
        !cJSON_AddStringToObject(out, "status", j.status)) {
        problem_send_err(res, ERR_NOMEM, NULL);
        goto done;
    }
    http_res_header(res, "Location", location);
    http_res_json(res, 202, out);
done:
    cJSON_Delete(out);
    job_clear(&j);
}

static void get_job(struct http_req *req, struct http_res *res, void *ctx)
{
    struct jobs_http *jh = ctx;
    struct job j;
    job_init(&j);
    int rc = jobs_get(jh->pool, scope_from_req(req).owner_id, http_req_param_id(req, "id"), &j);
    if (rc != 0) {
        send_repo_error(res, rc, "there is no job with that id");
    } else {
        cJSON *out = job_to_json(&j);
        if (out)
            http_res_json(res, 200, out);
        else
            problem_send_err(res, ERR_NOMEM, NULL);
        cJSON_Delete(out);
    }
    job_clear(&j);
}

/* The job id of "<id>.csv", where <id> is canonical ([1-9][0-9]*, at most 2^63-1): 0 when the
 * name is anything else. */
static int64_t export_id_of(const char *name)
{
    if (!name || name[0] < '1' || name[0] > '9')
        return 0;
    int64_t v = 0;
    size_t i = 0;
    for (; name[i] >= '0' && name[i] <= '9'; i++) {
        int d = name[i] - '0';
        if (v > (INT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    return strcmp(name + i, ".csv") == 0 ? v : 0;
}

static void get_export(struct http_req *req, struct http_res *res, void *ctx)
{
    struct jobs_http *jh = ctx;
    static const char not_found[] = "there is no finished export with that id";
    int64_t id = export_id_of(http_req_param(req, "name"));
    if (id == 0) {
        problem_send(res, 404, not_found);
        return;
    }
    char *csv = NULL;
    size_t len = 0;
    int rc = jobs_export_csv(jh->pool, scope_from_req(req).owner_id, id, &csv, &len);
    if (rc != 0) {
        send_repo_error(res, rc, not_found);
        return;
    }
    char disposition[64];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"tasks-%lld.csv\"",
             (long long)id);
    http_res_header(res, "Content-Disposition", disposition);
    http_res_body(res, 200, "text/csv; charset=utf-8", csv, len);
    free(csv);
}

/* ------------------------------------------------------------------ wiring */

int jobs_http_register(struct app *app, struct pg_pool *pool, struct queue *queue)
{
    if (!app || !pool)
        return ERR_INVALID;
    struct jobs_http *jh = calloc(1, sizeof *jh);
    if (!jh)
        return ERR_NOMEM;
    jh->pool = pool;
    jh->queue = queue;
    int rc = app_defer(app, free, jh);
    if (rc != 0)
        return rc;
    struct http_server *s = app_http(app);
    if ((rc = http_route(s, "POST", "/exports", create_export, jh, 0)) != 0 ||
        (rc = http_route(s, "GET", "/exports/{name}", get_export, jh, 0)) != 0 ||
        (rc = http_route(s, "GET", "/jobs/{id:id}", get_job, jh, 0)) != 0)
        return rc;
    return 0;
}
