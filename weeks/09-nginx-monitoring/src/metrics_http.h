/* metrics_http.h — what every request adds to the metrics, and GET /metrics.
 *
 * One middleware sees every answer the server gives (the HTTP layer's own 404, 405, 413 and
 * 431 included: on_response) and counts it by method, route and status, times it by route, and
 * counts the cache's answer when the request read through the cache (week 3's xcache_result).
 * The labels come from closed sets, so a client cannot mint new series: the route is the
 * template the request matched ("/tasks/{id}", or "unmatched"), never the path it sent, and a
 * method outside HTTP's usual seven is "other".
 *
 * GET /metrics writes the registry (metrics.h) in Prometheus's text format 0.0.4. It is not
 * behind auth: Prometheus scrapes it with no token, so it must not be reachable from outside.
 * Week 9's nginx keeps it off the public side; a deployment without that proxy should bind
 * taskd to a private address. Nothing in it names a user or a task. */
#ifndef TASKD_METRICS_HTTP_H
#define TASKD_METRICS_HTTP_H

struct app;
struct metrics;

/* The method as a label: GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS as themselves, any
 * other word "other". */
const char *metrics_http_method_label(const char *method);

/* Adds the request families to m (http_requests_total, http_request_duration_seconds,
 * cache_requests_total), the middleware that fills them, and the GET /metrics route, which
 * writes m, to the app's server. m must outlive the server (register its metrics_free with the
 * app before this). 0, ERR_NOMEM or ERR_INVALID. */
int metrics_http_register(struct app *app, struct metrics *m);

/* A listener that serves only GET /metrics, writing m: for a program with no HTTP server of its
 * own (program_metrics.h). On address:port (0: a free port the kernel picks), a thread per
 * connection, at most 16 connections. m must outlive it. 0, ERR_INVALID (a bad address, logged),
 * ERR_UNAVAILABLE (the port is taken, logged) or ERR_NOMEM. */
struct metrics_listener;
int metrics_listener_new(const char *address, unsigned port, struct metrics *m,
                         struct metrics_listener **out);
unsigned metrics_listener_port(const struct metrics_listener *l);
/* Stops serving (requests under way get a second to finish) and frees l. NULL is a no-op. */
void metrics_listener_free(struct metrics_listener *l);

#endif
