/* activity_http.c — GET /tasks/{id}/activity (activity_http.h).
 *
 * The route sits under /tasks, so stage 4's middleware has already refused a request without a
 * valid token, and the scope says whose tasks the caller may see: another owner's task is 404,
 * as everywhere. The body is built by activity_list straight from the stored events. */
#include <stdio.h>

#include "activity.h"
#include "activity_http.h"
#include "app.h"
#include "buf.h"
#include "err.h"
#include "http.h"
#include "problem.h"
#include "scope_http.h"

static void get_activity(struct http_req *req, struct http_res *res, void *ctx)
{
    struct buf body;
    buf_init(&body);
    int rc = activity_list(ctx, scope_from_req(req).owner_id, http_req_param_id(req, "id"), &body);
    if (rc == 0)
        http_res_body(res, 200, "application/json", body.data, body.len);
    else if (rc == ERR_NOT_FOUND)
        problem_send(res, 404, "there is no task with that id");
    else if (rc == ERR_UNAVAILABLE)
        problem_send_unavailable(res, "the database is not available; try again shortly");
    else
        problem_send_err(res, rc, NULL);
    buf_free(&body);
}

int activity_http_register(struct app *app, struct pg_pool *pool)
{
    if (!app || !pool)
        return ERR_INVALID;
    return http_route(app_http(app), "GET", "/tasks/{id:id}/activity", get_activity, pool, 0);
}
