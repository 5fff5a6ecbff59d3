/* xcache_http.c — notes a cache result in the request's locals, and sends it as X-Cache
 * (xcache_http.h). */
#include "xcache_http.h"

#include "http.h"
#include "locals.h"

static const struct locals_key xcache_key = {.name = "cache"};

void xcache_note(struct locals *l, bool hit)
{
    /* Best effort: with the request's locals full, only the header is lost, never the read. */
    (void)locals_set_int(l, &xcache_key, hit ? XCACHE_HIT : XCACHE_MISS);
}

enum xcache_result xcache_result(const struct locals *l)
{
    int64_t v = locals_get_int(l, &xcache_key);
    return v == XCACHE_HIT || v == XCACHE_MISS ? (enum xcache_result)v : XCACHE_NONE;
}

static void add_header(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)ctx;
    enum xcache_result r = xcache_result(http_req_locals(req));
    if (r != XCACHE_NONE)
        http_res_header(res, "X-Cache", r == XCACHE_HIT ? "HIT" : "MISS");
}

int xcache_use(struct http_server *http)
{
    const struct http_middleware mw = {.name = "x-cache", .on_answer = add_header};
    return http_use(http, &mw);
}
