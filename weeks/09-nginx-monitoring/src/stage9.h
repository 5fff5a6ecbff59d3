/* stage9.h — what stage 9 gives the stages built on it (the pattern: stage1.h).
 *
 * Stage 9 is stage 8 made observable: taskd keeps metrics about itself (metrics.h), fills them
 * from every request (metrics_http.h), from its pools and outbox (db_metrics.h) and from the
 * kernel (process_metrics.h), and serves them on GET /metrics for Prometheus to scrape. The
 * registry is a resource like a pool: later weeks add their own families to it. */
#ifndef TASKD_STAGE9_H
#define TASKD_STAGE9_H

#include "stage8.h"

struct metrics;
struct proxy_trust;

struct stage9 {
    struct stage8 s8;
    struct metrics *metrics;   /* NULL when METRICS=off */
    struct proxy_trust *trust; /* TRUSTED_PROXIES (proxy_trust.h): whose X-Forwarded-For counts */
};

int stage9_declare(struct config *cfg);
/* Opens stage 8, then the registry with the process and database series (METRICS=on). */
int stage9_open(const struct config *cfg, struct stage9 *out);
void stage9_close(struct stage9 *s);
/* Stage 8's routes, then the trusted proxies' client addresses, the request metrics and GET
 * /metrics (METRICS=on). */
int stage9_serve(struct app *app, struct stage9 *s);

#endif
