/* xcache_http.c — notes a cache result in the request's locals, and sends it as X-Cache
 * (xcache_http.h). */
#include "xcache_http.h"

#include "http.h"
#include "locals.h"

/* The value: 0 (nothing read through the cache), or one of these. */
enum { XCACHE_HIT = 1, XCACHE_MISS = 2 };

static const struct locals_key xcache_key = {.name = "cache"};

void xcache_note(struct locals *l, bool hit)
{
    /* Best effort: with the request's locals full, only the header is lost, never the read. */
    (void)locals_set_int(l, &xcache_key, hit ? XCACHE_HIT : XCACHE_MISS);
}

static void add_header(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)ctx;
    int64_t v = locals_get_int(http_req_locals(req), &xcache_key);
    if (v != 0)
        http_res_header(res, "X-Cache", v == XCACHE_HIT ? "HIT" : "MISS");
}

int xcache_use(struct http_server *http)
{
    const struct http_middleware mw = {.name = "x-cache", .on_answer = add_header};
    return http_use(http, &mw);
}
