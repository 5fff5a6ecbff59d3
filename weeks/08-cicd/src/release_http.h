/* release_http.h — which release answers: GET /health with the build's version.
 *
 * Week 8 deploys releases side by side (blue/green slots) and rolls them back. A deploy script,
 * a smoke test or a person behind the load balancer must be able to ask a running instance
 * which release it is, without a shell on the machine: GET /health answers
 * {"status":"ok","version":"0.8.0-3-gabc1234"}, the version `taskd --version` prints (both come
 * from the build's gen/version.h, through app_version). /health stays a liveness check: it
 * touches nothing but the process. */
#ifndef TASKD_RELEASE_HTTP_H
#define TASKD_RELEASE_HTTP_H

struct app;

/* Adds the middleware that answers GET /health with the version (week 1's route stays in the
 * table, so 405 and the route listing do not change). 0, ERR_INVALID (the app has no version)
 * or ERR_NOMEM. */
int release_http_register(struct app *app);

#endif
