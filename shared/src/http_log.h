/* http_log.h — the access-log middleware (request_id, method, route, status, duration_ms). */
#ifndef TASKD_HTTP_LOG_H
#define TASKD_HTTP_LOG_H

#include "http.h"

/* The middleware to pass to http_use(). */
const struct http_middleware *http_log_middleware(void);

#endif
