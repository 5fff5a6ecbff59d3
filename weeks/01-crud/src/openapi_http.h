/* openapi_http.h — GET /openapi.json: the API's own description, served by the API. */
#ifndef TASKD_OPENAPI_HTTP_H
#define TASKD_OPENAPI_HTTP_H

struct app;

/* Serves docs/api/openapi.yaml (embedded at build time as JSON), keeping only what the running
 * stage's week has reached: operations, answers (an operation's 401 from week 4), security
 * schemes and the requirements naming them each carry `x-since-week`, so each stage documents
 * exactly what it serves. 0 or an ERR_ code. */
int openapi_register(struct app *app);

#endif
