/* idempotency_http.h — Idempotency-Key on POST /tasks and POST /exports (API.md, "Idempotency").
 *
 * A middleware, so neither handler changes: after the body is read it checks the key (400),
 * claims it (idempotency.h) and answers a repeat itself — the stored answer with
 * Idempotent-Replayed: true, 409 while the first is in progress, 422 for another body — so the
 * handler never runs twice. Just before the first request's answer goes out it stores it; a 5xx
 * is not stored but released, so a retry runs again. The scope is the caller's owner
 * (scope_from_req): under week 4, one user's keys are not another's. */
#ifndef TASKD_IDEMPOTENCY_HTTP_H
#define TASKD_IDEMPOTENCY_HTTP_H

struct app;
struct pg_pool;

/* Adds the middleware, keeping keys in pool (which must outlive the server). 0 or an ERR_ code. */
int idempotency_http_use(struct app *app, struct pg_pool *pool);

#endif
