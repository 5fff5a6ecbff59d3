/* http_log.c — the access log: one JSON line per answered request (a middleware).
 *
 * It logs the route template ("/tasks/{id}"), never the raw path of a matched route, so ids do
 * not end up in logs and lines group by endpoint; unmatched paths are cut short because they are
 * whatever a client typed. */
#include "http_log.h"

#include <string.h>

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
    struct log_kv kv[] = {
        LOG_STR("request_id", http_req_id(req)),
        LOG_STR("method", http_req_method(req)),
        LOG_STR("path", route ? route : path),
        LOG_INT("status", status),
        LOG_DBL("duration_ms", http_req_elapsed_ms(req)),
        LOG_INT("user_id", http_req_user_id(req)),
    };
    size_t n = sizeof kv / sizeof kv[0];
    if (http_req_user_id(req) == 0)
        n--; /* user_id only when known */
    log_kv(level, "request", kv, n);
}

const struct http_middleware *http_log_middleware(void)
{
    static const struct http_middleware mw = {.name = "access-log", .on_response = on_response};
    return &mw;
}
