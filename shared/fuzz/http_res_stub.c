/* http_res_stub.c — the fuzz targets link problem.c without the HTTP layer; they never send. */
#include <stdlib.h>

#include "http.h"

void http_res_body(struct http_res *res, int status, const char *content_type, const void *body,
                   size_t len)
{
    (void)res;
    (void)status;
    (void)content_type;
    (void)body;
    (void)len;
    abort(); /* unreachable in the fuzz targets */
}

void http_res_header(struct http_res *res, const char *name, const char *value)
{
    (void)res;
    (void)name;
    (void)value;
    abort(); /* unreachable in the fuzz targets */
}
