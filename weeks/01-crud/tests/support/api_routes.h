/* api_routes.h — the stage's route table, read from its own GET /openapi.json (test kit only).
 *
 * The attack suite (weeks/NN/tests/attack_*.c) throws bad inputs at every route and checks
 * every route for cross-user access. Listing the routes by hand would let a later week's route
 * escape both: the served document is filtered to the stage's weeks (x-since-week), so reading it
 * makes every new route join those checks the day it is documented. Only what the attacks need is
 * kept: the method and path template, whether the path carries an {id}, the query parameters and
 * the request body's top-level fields, each with the type and bounds that make a value bad. */
#ifndef TASKD_API_ROUTES_H
#define TASKD_API_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "testkit.h"

#define API_ROUTE_PATH_MAX 128
#define API_ROUTE_NAME_MAX 64
#define API_ROUTE_VALUES   16 /* query parameters, or body fields, kept per route */

/* A query parameter or a body field, described by its (resolved) schema. */
struct api_value {
    char name[API_ROUTE_NAME_MAX];
    char type[16];   /* "string", "integer", "number", "boolean", "array", "object", "" */
    char format[24]; /* "date-time", "int64"... or "" */
    bool has_enum;   /* a string from a fixed list */
    bool has_pattern;
    bool has_minimum, has_maximum;
    double minimum, maximum;
    long max_length; /* -1: none */
    bool nullable;
};

struct api_route {
    char method[8];                    /* "GET", "POST", "PATCH"... */
    char path[API_ROUTE_PATH_MAX];     /* the template: "/tasks/{id}", "/exports/{id}.csv" */
    char resource[API_ROUTE_NAME_MAX]; /* its first segment: "tasks", "exports", "auth" */
    bool has_id;                       /* the template has an {id} segment */
    bool has_body;                     /* a JSON request body is documented */
    size_t n_query, n_fields;
    struct api_value query[API_ROUTE_VALUES];
    struct api_value fields[API_ROUTE_VALUES]; /* the body object's properties */
};

struct api_routes;

/* GETs /openapi.json from s and reads every operation in it; fails the test when the document
 * is missing or holds no path. Free with api_routes_free. */
struct api_routes *api_routes_load(struct tk_server *s);
void api_routes_free(struct api_routes *routes);
size_t api_routes_count(const struct api_routes *routes);
/* The i-th route (i < count), in the document's order. */
const struct api_route *api_routes_at(const struct api_routes *routes, size_t i);

/* The route's path with {id} replaced by id (sent as it is: the caller encodes what must be)
 * into buf; NULL when it does not fit. */
const char *api_route_path(const struct api_route *r, const char *id, char *buf, size_t buf_len);

#endif
