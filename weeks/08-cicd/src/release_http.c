/* release_http.c — GET /health with the version (see release_http.h).
 *
 * Week 1's handler answers {"status":"ok"} and knows nothing of releases; rather than change it,
 * stage 8 answers the route first, from a middleware. The body is built once, when the stage
 * starts: the version cannot change while the process runs, and a liveness check should cost
 * nothing. */
#include "release_http.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "err.h"
#include "http.h"
#include "log.h"

struct release_http {
    char *body; /* {"status":"ok","version":"..."} */
    size_t len;
};

static void release_free(void *ctx)
{
    struct release_http *rh = ctx;
    cJSON_free(rh->body);
    free(rh);
}

static int answer_health(struct http_req *req, struct http_res *res, void *ctx)
{
    const struct release_http *rh = ctx;
    const char *route = http_req_route(req);
    if (!route || strcmp(route, "/health") != 0 || strcmp(http_req_method(req), "GET") != 0)
        return 0;
    http_res_body(res, 200, "application/json", rh->body, rh->len);
    return 1;
}

int release_http_register(struct app *app)
{
    const char *version = app_version(app);
    if (!version || !*version) {
        log_msg(LOG_ERROR, "stage 8 needs the build's version (gen/version.h)");
        return ERR_INVALID;
    }
    struct release_http *rh = calloc(1, sizeof *rh);
    if (!rh)
        return ERR_NOMEM;
    int rc = app_defer(app, release_free, rh); /* frees rh itself when it fails */
    if (rc != 0)
        return rc;
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "status", "ok") ||
        !cJSON_AddStringToObject(o, "version", version) ||
        !(rh->body = cJSON_PrintUnformatted(o))) {
        cJSON_Delete(o);
        return ERR_NOMEM;
    }
    cJSON_Delete(o);
    rh->len = strlen(rh->body);
    struct http_middleware mw = {.name = "release", .on_request = answer_health, .ctx = rh};
    return http_use(app_http(app), &mw);
}
