/* api_routes.c — the route table and the OpenAPI document list the same operations.
 *
 * `taskd routes` prints what the running stage registers ("GET /tasks/{id}"), and
 * GET /openapi.json what it documents. A route without a path in the document, or a documented
 * operation without a route, fails here, naming every difference in both directions: the
 * document cannot drift from the code. (api_openapi.c probes the same from outside, over HTTP;
 * make test-openapi-proxy checks the answers themselves against the document.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "testkit.h"

static const char *const operations[] = {"get",     "put",  "post",  "delete",
                                         "options", "head", "patch", "trace"};

/* "GET /tasks\n..." for every operation of the served document, upper-cased methods. */
static void documented(struct buf *out)
{
    struct tk_response *r = tk_get(tk_shared(), "/openapi.json");
    tk_expect_status(r, 200);
    const cJSON *paths = r->json ? cJSON_GetObjectItemCaseSensitive(r->json, "paths") : NULL;
    cr_assert(cJSON_IsObject(paths), "%s: expected a \"paths\" object", r->what);
    const cJSON *item;
    cJSON_ArrayForEach(item, paths)
    {
        for (size_t i = 0; i < sizeof operations / sizeof operations[0]; i++) {
            if (!cJSON_GetObjectItemCaseSensitive(item, operations[i]))
                continue;
            for (const char *c = operations[i]; *c; c++)
                buf_putc(out, (char)(*c - 'a' + 'A'));
            buf_printf(out, " %s\n", item->string);
        }
    }
    tk_response_free(r);
    cr_assert(!out->failed, "out of memory");
}

/* `taskd routes` of the stage under test, on the shared server's database. */
static void registered(char *out, size_t out_len)
{
    tk_need_local("the stage's binary, run with arguments of its own");
    const char *bin = getenv("TASKD_BIN");
    cr_assert(bin, "TASKD_BIN is not set");
    char db[600];
    snprintf(db, sizeof db, "DATABASE_URL=%s", tk_server_database_url(tk_shared()));
    const char *argv[] = {bin, "routes", NULL};
    const char *env[] = {db, "LOG_LEVEL=error", NULL};
    int status = tk_run(argv, env, out, out_len);
    cr_assert(status == 0, "taskd routes: expected exit status 0, got %d; output:\n%.2000s", status,
              out);
}

/* True when list (lines) holds line exactly. */
static bool has_line(const char *list, const char *line, size_t len)
{
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, "\n");
        if (n == len && strncmp(p, line, len) == 0)
            return true;
        p += n + (p[n] == '\n');
    }
    return false;
}

/* Appends to diff each line of a that b lacks, prefixed with what. */
static void missing(struct buf *diff, const char *a, const char *b, const char *what)
{
    for (const char *p = a; *p;) {
        size_t n = strcspn(p, "\n");
        if (n > 0 && !has_line(b, p, n))
            buf_printf(diff, "  %s: %.*s\n", what, (int)n, p);
        p += n + (p[n] == '\n');
    }
}

GRADED(routes, taskd_routes_prints_method_and_path_of_each_route, 1)
{
    static char out[1 << 16];
    registered(out, sizeof out);
    cr_assert(strstr(out, "GET /health\n") && strstr(out, "GET /tasks/{id}\n"),
              "taskd routes: expected lines such as \"GET /health\" and \"GET /tasks/{id}\" "
              "(the :id type dropped), got:\n%.2000s",
              out);
}

GRADED(routes, every_route_is_documented_and_every_documented_operation_is_a_route, 3)
{
    static char out[1 << 16];
    registered(out, sizeof out);
    /* tk_run collects stderr too: keep the lines that look like routes. */
    struct buf routes = BUF_INIT, doc = BUF_INIT, diff = BUF_INIT;
    for (const char *p = out; *p;) {
        size_t n = strcspn(p, "\n");
        const char *space = memchr(p, ' ', n);
        if (space && space > p && space + 1 < p + n && space[1] == '/')
            buf_printf(&routes, "%.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
    buf_putc(&routes, '\0');
    documented(&doc);
    buf_putc(&doc, '\0');
    cr_assert(!routes.failed && !doc.failed, "out of memory");
    missing(&diff, routes.data, doc.data, "served but not in /openapi.json");
    missing(&diff, doc.data, routes.data, "in /openapi.json but not served");
    buf_putc(&diff, '\0');
    cr_assert(!diff.failed, "out of memory");
    cr_assert(diff.len <= 1,
              "taskd routes and GET /openapi.json disagree (docs/api/openapi.yaml must list "
              "exactly the routes, with x-since-week):\n%s",
              diff.data);
    buf_free(&routes);
    buf_free(&doc);
    buf_free(&diff);
}
