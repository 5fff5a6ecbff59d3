/* openapi_http.h — GET /openapi.json: the API's own description, served by the API. */
#ifndef TASKD_OPENAPI_HTTP_H
#define TASKD_OPENAPI_HTTP_H

struct app;

/* Serves docs/api/openapi.yaml (embedded at build time as JSON), keeping only the operations
 * whose `x-since-week` is at most the running stage's week, so each stage documents exactly
 * what it serves. 0 or an ERR_ code. */
int openapi_register(struct app *app);

#endif
