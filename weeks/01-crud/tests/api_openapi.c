/* api_openapi.c — black-box tests that GET /openapi.json tells the truth about the server
 * (API.md "any" row: the OpenAPI 3 document, kept true to the code).
 *
 * The document is read as data: every (path, method) it lists must really be served, and for
 * every path, the methods the server allows (405's Allow) must be exactly the documented ones.
 * Because the tests walk the document, they keep checking later stages as routes are added. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_helpers.h"
#include "buf.h"
#include "testkit.h"

/* OpenAPI's operation keys, and the methods the tests try as "undocumented". */
static const char *const operations[] = {"get",     "put",  "post",  "delete",
                                         "options", "head", "patch", "trace"};
#define N_OPERATIONS (sizeof operations / sizeof operations[0])
static const char *const probes[] = {"PUT", "DELETE", "PATCH", "POST", "GET", "TRACE"};

static struct tk_response *fetch_document(void)
{
    struct tk_response *r = tk_get(tk_shared(), "/openapi.json");
    tk_expect_status(r, 200);
    api_expect_json_type(r);
    const cJSON *paths = r->json ? cJSON_GetObjectItemCaseSensitive(r->json, "paths") : NULL;
    cr_assert(cJSON_IsObject(paths) && cJSON_GetArraySize(paths) > 0,
              "%s: expected a non-empty \"paths\" object", r->what);
    return r;
}

/* The documented methods of a path item, upper-cased, into methods; returns how many. */
static size_t documented_methods(const cJSON *item, char methods[][8])
{
    size_t n = 0;
    for (size_t i = 0; i < N_OPERATIONS; i++) {
        if (!cJSON_GetObjectItemCaseSensitive(item, operations[i]))
            continue;
        for (size_t k = 0; operations[i][k] && k < 7; k++)
            methods[n][k] = (char)(operations[i][k] - 'a' + 'A');
        methods[n][strlen(operations[i])] = '\0';
        n++;
    }
    return n;
}

static bool is_documented(char methods[][8], size_t n, const char *method)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(methods[i], method) == 0)
            return true;
    return false;
}

/* The template with every {parameter} replaced by the id of a new task. */
static char *concrete_path(const char *template)
{
    struct buf b = BUF_INIT;
    for (const char *p = template; *p;) {
        if (*p == '{' && strchr(p, '}')) {
            buf_printf(&b, "%lld", api_new_task(tk_shared()));
            p = strchr(p, '}') + 1;
        } else {
            buf_putc(&b, *p++);
        }
    }
    cr_assert(!b.failed, "out of memory");
    return buf_steal(&b, NULL);
}

static struct tk_response *send_method(const char *method, const char *path)
{
    bool body =
        strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0 || strcmp(method, "PUT") == 0;
    return api_send(tk_shared(), method, path, body ? "application/json" : NULL, body ? "{}" : NULL,
                    body ? 2 : 0, NULL);
}

/* The first method the document does not list for a path, or NULL when it lists them all. */
static const char *undocumented_method(char methods[][8], size_t n)
{
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++)
        if (!is_documented(methods, n, probes[i]))
            return probes[i];
    return NULL;
}

/* The server knows path as a route: it refuses an undocumented method with 405. */
static bool route_known(const char *path, char methods[][8], size_t n)
{
    const char *probe = undocumented_method(methods, n);
    if (!probe)
        return false;
    struct tk_response *r = send_method(probe, path);
    bool known = r->status == 405;
    tk_response_free(r);
    return known;
}

GRADED(openapi, serves_an_openapi_3_document, 1)
{
    struct tk_response *r = fetch_document();
    const char *version = tk_json_str(r, "openapi");
    cr_assert(strncmp(version, "3.", 2) == 0, "%s: expected \"openapi\": \"3.x\", got \"%s\"",
              r->what, version);
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(r->json, "info");
    cr_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(info, "title")) &&
                  cJSON_IsString(cJSON_GetObjectItemCaseSensitive(info, "version")),
              "%s: expected info.title and info.version strings", r->what);
    tk_response_free(r);
}

GRADED(openapi, documents_every_week_1_route, 2)
{
    struct tk_response *r = fetch_document();
    const cJSON *paths = cJSON_GetObjectItemCaseSensitive(r->json, "paths");
    const struct {
        const char *path, *methods[4];
    } routes[] = {
        {"/health", {"get", NULL}},
        {"/tasks", {"get", "post", NULL}},
        {"/tasks/{id}", {"get", "patch", "delete", NULL}},
        {"/openapi.json", {"get", NULL}},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(paths, routes[i].path);
        cr_assert(cJSON_IsObject(item), "%s: expected path %s to be documented", r->what,
                  routes[i].path);
        for (size_t k = 0; routes[i].methods[k]; k++)
            cr_assert(cJSON_GetObjectItemCaseSensitive(item, routes[i].methods[k]),
                      "%s: expected %s %s to be documented", r->what, routes[i].methods[k],
                      routes[i].path);
    }
    tk_response_free(r);
}

/* True when an operation of item says `x-internal: true`: served on each instance's own port
 * (GET /metrics, for Prometheus) and kept off the public side by a deployment's front. */
static bool internal(const cJSON *item)
{
    for (size_t i = 0; i < N_OPERATIONS; i++) {
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(item, operations[i]);
        if (op && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(op, "x-internal")))
            return true;
    }
    return false;
}

/* Calls check with every path item of the served document and the methods it documents; against
 * a deployed service (TK_REMOTE_URL), not with the internal ones, which its front hides. */
static void for_each_documented_path(void (*check)(const cJSON *item, char methods[][8], size_t n))
{
    struct tk_response *doc = fetch_document();
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(doc->json, "paths"))
    {
        if (tk_remote() && internal(item))
            continue;
        char methods[N_OPERATIONS][8];
        check(item, methods, documented_methods(item, methods));
    }
    tk_response_free(doc);
}

/* Each documented method of item is served: neither 405 nor "no such route". */
static void check_served(const cJSON *item, char methods[][8], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *path = concrete_path(item->string);
        struct tk_response *r = send_method(methods[i], path);
        cr_assert(r->status != 405, "%s: documented as %s %s, but the server answers 405", r->what,
                  methods[i], item->string);
        /* A 404 is "no such route" unless the route answers another method with 405:
         * only then can it be about the resource a {parameter} names. */
        cr_assert(r->status != 404 || (strchr(item->string, '{') && route_known(path, methods, n)),
                  "%s: documented as %s %s, but the server has no such route (404): %.200s",
                  r->what, methods[i], item->string, r->body);
        tk_response_free(r);
        free(path);
    }
}

/* An undocumented method on item is refused with an Allow of exactly the documented ones. */
static void check_allow(const cJSON *item, char methods[][8], size_t n)
{
    const char *probe = undocumented_method(methods, n);
    if (!probe)
        return; /* every method is documented: there is nothing to be refused */
    const char *want[N_OPERATIONS + 1];
    for (size_t i = 0; i < n; i++)
        want[i] = methods[i];
    want[n] = NULL;
    char *path = concrete_path(item->string);
    struct tk_response *r = send_method(probe, path);
    api_expect_allow(r, want);
    tk_response_free(r);
    free(path);
}

GRADED(openapi, every_documented_operation_is_served, 3)
{
    for_each_documented_path(check_served);
}

GRADED(openapi, allow_lists_exactly_the_documented_methods, 3)
{
    for_each_documented_path(check_allow);
}
