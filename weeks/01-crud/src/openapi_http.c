/* openapi_http.c — GET /openapi.json (see openapi_http.h).
 *
 * The document is filtered and rendered once at start-up; each request copies a ready string. */
#include "openapi_http.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "err.h"
#include "http.h"
#include "log.h"

/* Generated from docs/api/openapi.yaml by shared/tools/yaml2json (see the Makefile). */
extern const char openapi_doc[];
extern const size_t openapi_doc_len;

static const char *const methods[] = {"get",     "put",  "post",  "delete",
                                      "options", "head", "patch", "trace"};

/* Removes operations of later weeks, and paths left with none. */
static void keep_weeks_up_to(cJSON *doc, int week)
{
    cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
    cJSON *path = paths ? paths->child : NULL;
    while (path) {
        cJSON *next_path = path->next;
        int ops = 0;
        for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
            cJSON *op = cJSON_GetObjectItemCaseSensitive(path, methods[i]);
            if (!op)
                continue;
            cJSON *since = cJSON_GetObjectItemCaseSensitive(op, "x-since-week");
            if (cJSON_IsNumber(since) && since->valuedouble > week)
                cJSON_DeleteItemFromObjectCaseSensitive(path, methods[i]);
            else
                ops++;
        }
        if (ops == 0)
            cJSON_Delete(cJSON_DetachItemViaPointer(paths, path));
        path = next_path;
    }
}

static void serve(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)req;
    const char *doc = ctx;
    http_res_body(res, 200, "application/json", doc, strlen(doc));
}

int openapi_register(struct app *app)
{
    cJSON *doc = cJSON_ParseWithLength(openapi_doc, openapi_doc_len);
    if (!doc) {
        log_msg(LOG_ERROR, "the embedded OpenAPI document does not parse");
        return ERR_INTERNAL;
    }
    keep_weeks_up_to(doc, app_week(app));
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!text)
        return ERR_NOMEM;
    int rc = app_defer(app, free, text);
    if (rc != 0)
        return rc;
    return http_route(app_http(app), "GET", "/openapi.json", serve, text, 0);
}
