/* problem.c — RFC 9457 problem responses and the single error-code → status map (problem.h). */
#include "problem.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "http.h"

struct field_error {
    char *field;
    char *message;
};

struct field_errors {
    struct field_error items[FIELD_ERRORS_MAX];
    size_t kept;  /* entries stored */
    size_t total; /* entries reported, kept or not */
};

struct field_errors *field_errors_new(void)
{
    return calloc(1, sizeof(struct field_errors));
}

void field_errors_free(struct field_errors *fe)
{
    if (!fe)
        return;
    for (size_t i = 0; i < fe->kept; i++) {
        free(fe->items[i].field);
        free(fe->items[i].message);
    }
    free(fe);
}

int field_errors_add(struct field_errors *fe, const char *field, const char *message)
{
    fe->total++;
    if (fe->kept == FIELD_ERRORS_MAX)
        return 0;
    char *f = strdup(field);
    char *m = strdup(message);
    if (!f || !m) {
        free(f);
        free(m);
        return ERR_NOMEM;
    }
    fe->items[fe->kept].field = f;
    fe->items[fe->kept].message = m;
    fe->kept++;
    return 0;
}

size_t field_errors_count(const struct field_errors *fe)
{
    return fe ? fe->total : 0;
}

int field_errors_has(const struct field_errors *fe, const char *field)
{
    for (size_t i = 0; fe && i < fe->kept; i++)
        if (strcmp(fe->items[i].field, field) == 0)
            return 1;
    return 0;
}

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

const char *http_reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

void problem_send_fields(struct http_res *res, int status, const char *detail,
                         const struct field_errors *fe)
{
    struct buf b = BUF_INIT;
    const char *title = http_reason_phrase(status);
    buf_puts(&b, "{\"type\":\"about:blank\",\"title\":");
    buf_json_string(&b, title, strlen(title));
    buf_printf(&b, ",\"status\":%d", status);
    if (detail) {
        buf_puts(&b, ",\"detail\":");
        buf_json_string(&b, detail, strlen(detail));
    }
    if (fe && fe->kept > 0) {
        buf_puts(&b, ",\"errors\":[");
        for (size_t i = 0; i < fe->kept; i++) {
            buf_puts(&b, i ? ",{\"field\":" : "{\"field\":");
            buf_json_string(&b, fe->items[i].field, strlen(fe->items[i].field));
            buf_puts(&b, ",\"message\":");
            buf_json_string(&b, fe->items[i].message, strlen(fe->items[i].message));
            buf_putc(&b, '}');
        }
        buf_putc(&b, ']');
    }
    buf_putc(&b, '}');
    if (b.failed) {
        /* Out of memory while describing an error: answer the status with a minimal body. */
        static const char oom[] = "{\"type\":\"about:blank\",\"title\":\"Internal Server Error\","
                                  "\"status\":500}";
        http_res_body(res, 500, "application/problem+json", oom, sizeof oom - 1);
    } else {
        http_res_body(res, status, "application/problem+json", b.data, b.len);
    }
    buf_free(&b);
}

void problem_send(struct http_res *res, int status, const char *detail)
{
    problem_send_fields(res, status, detail, NULL);
}

void problem_send_err(struct http_res *res, int err, const char *detail)
{
    problem_send_fields(res, problem_status_for(err), detail, NULL);
}

void problem_send_unavailable(struct http_res *res, const char *detail)
{
    http_res_header(res, "Retry-After", "1");
    problem_send(res, 503, detail);
}
