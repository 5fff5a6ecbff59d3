/* openapi_http.c — GET /openapi.json (see openapi_http.h).
 *
 * The document is filtered and rendered once at start-up; each request copies a ready string. */
#include "openapi_http.h"

#include <stdbool.h>
#include <stdio.h>
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

static bool later(const cJSON *item, int week)
{
    const cJSON *since = cJSON_GetObjectItemCaseSensitive(item, "x-since-week");
    return cJSON_IsNumber(since) && since->valuedouble > week;
}

/* The component a "$ref": "#/components/SECTION/NAME" names, or NULL. */
static const cJSON *referenced(const cJSON *doc, const cJSON *item, const char *section)
{
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(item, "$ref");
    char prefix[64];
    snprintf(prefix, sizeof prefix, "#/components/%s/", section);
    if (!cJSON_IsString(ref) || strncmp(ref->valuestring, prefix, strlen(prefix)) != 0)
        return NULL;
    const cJSON *components = cJSON_GetObjectItemCaseSensitive(doc, "components");
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(components, section),
                                            ref->valuestring + strlen(prefix));
}

/* Removes an operation's answers of later weeks (week 4's 401 on /tasks): an answer marked
 * `x-since-week`, itself or in the component it refers to. */
static void keep_responses_up_to(const cJSON *doc, cJSON *op, int week)
{
    cJSON *responses = cJSON_GetObjectItemCaseSensitive(op, "responses");
    cJSON *r = responses ? responses->child : NULL;
    while (r) {
        cJSON *next = r->next;
        if (later(r, week) || later(referenced(doc, r, "responses"), week))
            cJSON_Delete(cJSON_DetachItemViaPointer(responses, r));
        r = next;
    }
}

/* Removes an operation's security requirements that name a scheme of a later week (week 4's
 * bearer token), and the `security` key when none is left: before week 4 nothing is required. */
static void keep_security_up_to(const cJSON *doc, cJSON *op, int week)
{
    cJSON *security = cJSON_GetObjectItemCaseSensitive(op, "security");
    const cJSON *schemes = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(doc, "components"), "securitySchemes");
    cJSON *req = security ? security->child : NULL;
    while (req) {
        cJSON *next = req->next;
        bool drop = false;
        for (const cJSON *name = req->child; name; name = name->next)
            drop = drop || later(cJSON_GetObjectItemCaseSensitive(schemes, name->string), week);
        if (drop)
            cJSON_Delete(cJSON_DetachItemViaPointer(security, req));
        req = next;
    }
    if (security && cJSON_GetArraySize(security) == 0)
        cJSON_DeleteItemFromObjectCaseSensitive(op, "security");
}

/* Removes what later weeks add: operations (and paths left with none), answers, security
 * requirements, and then the security schemes and answer components themselves. */
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
            if (later(op, week)) {
                cJSON_DeleteItemFromObjectCaseSensitive(path, methods[i]);
                continue;
            }
            keep_responses_up_to(doc, op, week);
            keep_security_up_to(doc, op, week);
            ops++;
        }
        if (ops == 0)
            cJSON_Delete(cJSON_DetachItemViaPointer(paths, path));
        path = next_path;
    }
    cJSON *components = cJSON_GetObjectItemCaseSensitive(doc, "components");
    static const char *const sections[] = {"securitySchemes", "responses"};
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        cJSON *section = cJSON_GetObjectItemCaseSensitive(components, sections[i]);
        cJSON *c = section ? section->child : NULL;
        while (c) {
            cJSON *next = c->next;
            if (later(c, week))
                cJSON_Delete(cJSON_DetachItemViaPointer(section, c));
            c = next;
        }
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
