/* api_w9_helpers.h — what week 9's black-box and attack tests share: a background program of the
 * stage started beside a server with its metrics listener (METRICS_PORT=0, src/program_metrics.c),
 * and the port it took. Test kit only, like every api_ support file. */
#ifndef TASKD_API_W9_HELPERS_H
#define TASKD_API_W9_HELPERS_H

#include <stddef.h>

struct tk_proc;
struct tk_server;

/* Starts the stage's program `name` (or the one $var names) beside s with env, which must set
 * METRICS_PORT=0; waits for its "metrics listening" line and then for `ready` in its log, and
 * puts the port it logged in *port. Fails the test when either does not come within 20 s. */
struct tk_proc *w9_start_with_metrics(const struct tk_server *s, const char *name, const char *var,
                                      const char *const *env, const char *ready, unsigned *port);

/* The number of lines of text (of '\n's): how a test sees GET /metrics grow. */
size_t w9_lines(const char *text);

#endif
