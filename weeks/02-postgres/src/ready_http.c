/* ready_http.c — readiness, as opposed to liveness.
 *
 * /health (week 1) answers "is the process up?": an orchestrator restarts a process that
 * fails it. /ready answers "can it serve requests right now?": a load balancer stops sending
 * traffic to an instance that fails it, without restarting it — restarting would not bring the
 * database back. So /ready asks, every time, each check the stages added to the app (stage 2
 * the database, required; week 3 a cache and the queue's Redis, optional: "ok"/"down" lines
 * that do not change the status), and names what is down. Each check bounds its own wait (the
 * database's SELECT 1 has DB_STATEMENT_TIMEOUT_MS, pg_pool.c): a stuck dependency reads "down"
 * instead of hanging the probe. */
#include "ready_http.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "err.h"
#include "http.h"
#include "problem.h"

static void ready(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)req;
    const struct app *app = ctx;
    size_t n = 0;
    const struct app_check *c = app_checks(app, &n);
    cJSON *body = cJSON_CreateObject();
    cJSON *checks = body ? cJSON_AddObjectToObject(body, "checks") : NULL;
    bool built = checks != NULL, ready = true;
    char down[256] = ""; /* the required ones that failed, for the detail */
    for (size_t i = 0; built && i < n; i++) {
        bool ok = c[i].check(c[i].ctx) == 0;
        built = cJSON_AddStringToObject(checks, c[i].name, ok ? "ok" : "down") != NULL;
        if (!ok && c[i].required) {
            size_t used = strlen(down);
            snprintf(down + used, sizeof down - used, "%s%s", ready ? "" : ", ", c[i].name);
            ready = false;
        }
    }
    if (!built) {
        cJSON_Delete(body);
        problem_send_err(res, ERR_NOMEM, NULL);
        return;
    }
    if (ready) {
        cJSON_AddStringToObject(body, "status", "ready");
        http_res_json(res, 200, body);
    } else {
        /* An RFC 9457 problem, with the checks as an extension member. */
        char detail[300];
        snprintf(detail, sizeof detail, "a required backing service is down: %s", down);
        http_res_header(res, "Retry-After", "1");
        problem_send_ext(res, 503, detail, body);
    }
    cJSON_Delete(body);
}

int ready_register(struct app *app)
{
    return http_route(app_http(app), "GET", "/ready", ready, app, 0);
}
