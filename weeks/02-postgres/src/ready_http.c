/* ready_http.c — readiness, as opposed to liveness.
 *
 * /health (week 1) answers "is the process up?": an orchestrator restarts a process that
 * fails it. /ready answers "can it serve requests right now?": a load balancer stops sending
 * traffic to an instance that fails it, without restarting it — restarting would not bring the
 * database back. So /ready asks the database, every time, and names what is down. Only the
 * required services count; week 3 adds optional ones (a cache) as "ok"/"down" lines that do
 * not change the status. */
#include "ready_http.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "app.h"
#include "err.h"
#include "http.h"
#include "problem.h"
#include "task_repo.h"

#define OPTIONAL_MAX 8

/* Filled before the server starts and only read afterwards, so no lock is needed. */
static struct {
    const char *name;
    int (*check)(void *ctx);
    void *ctx;
} optional[OPTIONAL_MAX];
static size_t noptional;

int ready_add_optional(const char *name, int (*check)(void *ctx), void *ctx)
{
    if (noptional == OPTIONAL_MAX)
        return ERR_NOMEM;
    optional[noptional].name = name;
    optional[noptional].check = check;
    optional[noptional].ctx = ctx;
    noptional++;
    return 0;
}

static void ready(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)req;
    struct app *app = ctx;
    struct task_repo *repo = app_service(app, "task_repo");
    bool db_ok = repo && task_repo_ping(repo) == 0;
    cJSON *body = cJSON_CreateObject();
    cJSON *checks = body ? cJSON_AddObjectToObject(body, "checks") : NULL;
    bool built = checks && cJSON_AddStringToObject(checks, "database", db_ok ? "ok" : "down");
    for (size_t i = 0; built && i < noptional; i++)
        built = cJSON_AddStringToObject(checks, optional[i].name,
                                        optional[i].check(optional[i].ctx) == 0 ? "ok" : "down");
    if (!built) {
        cJSON_Delete(body);
        problem_send_err(res, ERR_NOMEM, NULL);
        return;
    }
    if (db_ok) {
        cJSON_AddStringToObject(body, "status", "ready");
        http_res_json(res, 200, body);
    } else {
        /* An RFC 9457 problem, with the checks as an extension member. */
        http_res_header(res, "Retry-After", "1");
        problem_send_ext(res, 503, "a required backing service is down: database", body);
    }
    cJSON_Delete(body);
}

int ready_register(struct app *app)
{
    return http_route(app_http(app), "GET", "/ready", ready, app, 0);
}
