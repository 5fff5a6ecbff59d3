/* problem.c — RFC 9457 problem responses and the single error-code → status map (problem.h).
 * Every body goes through http_res_problem_members, so the shape (and the 500 sent when memory
 * runs out) is decided in one place, the HTTP layer. */
#include "problem.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "field_errors.h"
#include "http.h"
#include "json.h"

int problem_status_for(int err)
{
    switch (err) {
    case ERR_INVALID:
        return 422;
    case ERR_MALFORMED:
        return 400;
    case ERR_NOT_FOUND:
        return 404;
    case ERR_CONFLICT:
        return 409;
    case ERR_PRECONDITION:
        return 412;
    case ERR_TOO_LARGE:
        return 413;
    case ERR_UNAVAILABLE:
        return 503;
    default:
        return 500;
    }
}

void problem_send_fields(struct http_res *res, int status, const char *detail,
                         const struct field_errors *fe)
{
    size_t n = field_errors_kept(fe);
    if (n == 0) {
        http_res_problem(res, status, detail);
        return;
    }
    struct buf b = BUF_INIT;
    buf_puts(&b, "\"errors\":[");
    for (size_t i = 0; i < n; i++) {
        const char *field, *message;
        field_errors_at(fe, i, &field, &message);
        buf_puts(&b, i ? ",{\"field\":" : "{\"field\":");
        buf_json_string(&b, field, strlen(field));
        buf_puts(&b, ",\"message\":");
        buf_json_string(&b, message, strlen(message));
        buf_putc(&b, '}');
    }
    buf_putc(&b, ']');
    if (b.failed)
        http_res_problem(res, 500, NULL); /* out of memory while describing an error */
    else
        http_res_problem_members(res, status, detail, b.data, b.len);
    buf_free(&b);
}

void problem_send_ext(struct http_res *res, int status, const char *detail, const struct cJSON *ext)
{
    if (!cJSON_IsObject(ext) || !ext->child) {
        http_res_problem(res, status, detail);
        return;
    }
    /* Rendered as an object, then passed without its braces: "{a,b}" → "a,b". */
    struct buf b = BUF_INIT;
    if (json_render(ext, &b) != 0 || b.len < 2)
        http_res_problem(res, 500, NULL);
    else
        http_res_problem_members(res, status, detail, b.data + 1, b.len - 2);
    buf_free(&b);
}

void problem_send(struct http_res *res, int status, const char *detail)
{
    http_res_problem(res, status, detail);
}

void problem_send_err(struct http_res *res, int err, const char *detail)
{
    http_res_problem(res, problem_status_for(err), detail);
}

void problem_send_unavailable(struct http_res *res, const char *detail)
{
    http_res_header(res, "Retry-After", "1");
    http_res_problem(res, 503, detail);
}
