/* http_log.c — the access log: one JSON line per answered request (a middleware).
 *
 * It logs the route template ("/tasks/{id}"), never the raw path of a matched route, so ids do
 * not end up in logs and lines group by endpoint; unmatched paths are cut short because they are
 * whatever a client typed. */
#include "http_log.h"

#include <string.h>

#include "locals.h"
#include "log.h"

static void on_response(const struct http_req *req, const struct http_res *res, void *ctx)
{
    (void)ctx;
    int status = http_res_status(res);
    enum log_level level = status >= 500 ? LOG_ERROR : LOG_INFO;
    if (!log_enabled(level))
        return;
    const char *route = http_req_route(req);
    char path[129];
    if (!route) {
        /* cut at 128 bytes; the JSON writer escapes whatever it holds */
        size_t n = strnlen(http_req_path(req), sizeof path - 1);
        memcpy(path, http_req_path(req), n);
        path[n] = '\0';
    }
    struct log_kv kv[5 + LOCALS_MAX] = {
        LOG_STR("request_id", http_req_id(req)),
        LOG_STR("method", http_req_method(req)),
        LOG_STR("path", route ? route : path),
        LOG_INT("status", status),
        LOG_DBL("duration_ms", http_req_elapsed_ms(req)),
    };
    /* Then what the request's locals ask to show (the caller's user id once a stage knows it),
     * each only when it is set. The log knows none of those keys: their owners mark them. */
    size_t n = 5;
    const struct locals *l = http_req_locals_const(req);
    for (size_t i = 0; i < locals_count(l); i++) {
        const struct locals_key *k = locals_key_at(l, i);
        if (k->logged)
            kv[n++] = LOG_INT(k->name, locals_get_int(l, k));
    }
    log_kv(level, "request", kv, n);
}

const struct http_middleware *http_log_middleware(void)
{
    static const struct http_middleware mw = {.name = "access-log", .on_response = on_response};
    return &mw;
}
