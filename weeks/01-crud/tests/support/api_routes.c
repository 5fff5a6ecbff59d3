/* api_routes.c — the route table from GET /openapi.json (see api_routes.h).
 *
 * The document is read the way a client generator would: path-level parameters apply to every
 * operation of the path, an operation's own come after them, and "$ref": "#/components/..." is
 * followed (a few levels: the document nests a parameter's schema inside a component). Anything
 * the attacks cannot use (header parameters, nested properties) is skipped, not guessed at. */
#include "api_routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define ROUTES_MAX 64
#define REF_DEPTH  8

struct api_routes {
    size_t n;
    struct api_route routes[ROUTES_MAX];
};

static const char *const methods[] = {"get", "put", "post", "delete", "patch"};

/* Follows node's "$ref" (only local "#/a/b/c" pointers) until it is not one; NULL when a
 * pointer leads nowhere. */
static const cJSON *resolve(const cJSON *doc, const cJSON *node)
{
    for (int depth = 0; node && depth < REF_DEPTH; depth++) {
        const cJSON *ref = cJSON_GetObjectItemCaseSensitive(node, "$ref");
        if (!cJSON_IsString(ref))
            return node;
        if (strncmp(ref->valuestring, "#/", 2) != 0)
            return NULL;
        char pointer[256];
        if ((size_t)snprintf(pointer, sizeof pointer, "%s", ref->valuestring + 2) >= sizeof pointer)
            return NULL;
        const cJSON *at = doc;
        char *save = NULL;
        for (char *part = strtok_r(pointer, "/", &save); part && at;
             part = strtok_r(NULL, "/", &save))
            at = cJSON_GetObjectItemCaseSensitive(at, part);
        node = at;
    }
    return cJSON_GetObjectItemCaseSensitive(node, "$ref") ? NULL : node;
}

static void copy_text(char *dst, size_t len, const cJSON *item)
{
    snprintf(dst, len, "%s", cJSON_IsString(item) ? item->valuestring : "");
}

/* Describes schema (resolved) as v, named name. */
static void describe(const cJSON *doc, const char *name, const cJSON *schema, struct api_value *v)
{
    memset(v, 0, sizeof *v);
    v->max_length = -1;
    snprintf(v->name, sizeof v->name, "%s", name);
    schema = resolve(doc, schema);
    if (!schema)
        return;
    copy_text(v->type, sizeof v->type, cJSON_GetObjectItemCaseSensitive(schema, "type"));
    copy_text(v->format, sizeof v->format, cJSON_GetObjectItemCaseSensitive(schema, "format"));
    v->has_enum = cJSON_GetObjectItemCaseSensitive(schema, "enum") != NULL;
    v->has_pattern = cJSON_GetObjectItemCaseSensitive(schema, "pattern") != NULL;
    v->nullable = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(schema, "nullable"));
    const cJSON *min = cJSON_GetObjectItemCaseSensitive(schema, "minimum");
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(schema, "maximum");
    const cJSON *max_len = cJSON_GetObjectItemCaseSensitive(schema, "maxLength");
    if ((v->has_minimum = cJSON_IsNumber(min)))
        v->minimum = min->valuedouble;
    if ((v->has_maximum = cJSON_IsNumber(max)))
        v->maximum = max->valuedouble;
    if (cJSON_IsNumber(max_len))
        v->max_length = (long)max_len->valuedouble;
}

/* Adds the query parameters of the list params (path- or operation-level) to r. */
static void add_params(const cJSON *doc, const cJSON *params, struct api_route *r)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, params)
    {
        const cJSON *param = resolve(doc, p);
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(param, "in");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(param, "name");
        if (!cJSON_IsString(in) || strcmp(in->valuestring, "query") != 0 || !cJSON_IsString(name) ||
            r->n_query >= API_ROUTE_VALUES)
            continue;
        describe(doc, name->valuestring, cJSON_GetObjectItemCaseSensitive(param, "schema"),
                 &r->query[r->n_query++]);
    }
}

/* Adds the top-level properties of the operation's JSON request body to r. */
static void add_body(const cJSON *doc, const cJSON *op, struct api_route *r)
{
    const cJSON *body = resolve(doc, cJSON_GetObjectItemCaseSensitive(op, "requestBody"));
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(body, "content");
    const cJSON *json = cJSON_GetObjectItemCaseSensitive(content, "application/json");
    if (!json)
        return;
    r->has_body = true;
    const cJSON *schema = resolve(doc, cJSON_GetObjectItemCaseSensitive(json, "schema"));
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
    const cJSON *prop;
    cJSON_ArrayForEach(prop, props)
    {
        if (r->n_fields < API_ROUTE_VALUES && prop->string)
            describe(doc, prop->string, prop, &r->fields[r->n_fields++]);
    }
}

/* Fills r for method on path (template); false when the template does not fit. */
static bool route_init(struct api_route *r, const char *method, const char *path)
{
    memset(r, 0, sizeof *r);
    for (size_t i = 0; method[i] && i + 1 < sizeof r->method; i++)
        r->method[i] = (char)(method[i] - 'a' + 'A');
    if ((size_t)snprintf(r->path, sizeof r->path, "%s", path) >= sizeof r->path)
        return false;
    const char *seg = path[0] == '/' ? path + 1 : path;
    size_t seg_len = strcspn(seg, "/.{");
    snprintf(r->resource, sizeof r->resource, "%.*s", (int)seg_len, seg);
    r->has_id = strstr(path, "{id}") != NULL;
    return true;
}

struct api_routes *api_routes_load(struct tk_server *s)
{
    struct tk_response *res = tk_get(s, "/openapi.json");
    tk_expect_status(res, 200);
    const cJSON *doc = res->json;
    const cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
    cr_assert(cJSON_IsObject(paths) && paths->child, "%s: no \"paths\" in the document", res->what);
    struct api_routes *routes = calloc(1, sizeof *routes);
    cr_assert(routes, "out of memory");
    const cJSON *path;
    cJSON_ArrayForEach(path, paths)
    {
        for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
            const cJSON *op = cJSON_GetObjectItemCaseSensitive(path, methods[m]);
            if (!op)
                continue;
            cr_assert(routes->n < ROUTES_MAX, "more than %d operations in /openapi.json",
                      ROUTES_MAX);
            struct api_route *r = &routes->routes[routes->n];
            cr_assert(route_init(r, methods[m], path->string), "path too long: %.200s",
                      path->string);
            add_params(doc, cJSON_GetObjectItemCaseSensitive(path, "parameters"), r);
            add_params(doc, cJSON_GetObjectItemCaseSensitive(op, "parameters"), r);
            add_body(doc, op, r);
            routes->n++;
        }
    }
    tk_response_free(res);
    return routes;
}

void api_routes_free(struct api_routes *routes)
{
    free(routes);
}

size_t api_routes_count(const struct api_routes *routes)
{
    return routes->n;
}

const struct api_route *api_routes_at(const struct api_routes *routes, size_t i)
{
    return i < routes->n ? &routes->routes[i] : NULL;
}

const char *api_route_path(const struct api_route *r, const char *id, char *buf, size_t buf_len)
{
    const char *at = strstr(r->path, "{id}");
    int n = at ? snprintf(buf, buf_len, "%.*s%s%s", (int)(at - r->path), r->path, id, at + 4)
               : snprintf(buf, buf_len, "%s", r->path);
    return n >= 0 && (size_t)n < buf_len ? buf : NULL;
}
