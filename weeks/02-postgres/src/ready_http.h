/* ready_http.h — GET /ready: is every required backing service answering? */
#ifndef TASKD_READY_HTTP_H
#define TASKD_READY_HTTP_H

struct app;

/* Adds GET /ready, checking the "task_repo" service. 0 or an ERR_ code. */
int ready_register(struct app *app);

/* Adds an optional dependency to /ready's checks (week 3's cache and queue): listed as "ok" or
 * "down", never a reason for 503. check returns 0 when the dependency answers. Call before
 * serving; at most 8. 0 or ERR_NOMEM. */
int ready_add_optional(const char *name, int (*check)(void *ctx), void *ctx);

#endif
