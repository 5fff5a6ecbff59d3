/* stage.c — stage 9: the service behind nginx, watched by Prometheus.
 *
 * Stage 9 is stage 8 made observable. In the program: GET /metrics in Prometheus's text format,
 * counted lock-free on every request (src/metrics.c, src/metrics_http.c), with the pools, the
 * outbox and the process read at each scrape (src/db_metrics.c, src/process_metrics.c); and
 * the background programs' reports, counted and served on a port of each program's own
 * (src/program_metrics.c). Around it, in this week's directory, the machinery that reads those
 * numbers. */
#include "app.h"
#include "err.h"
#include "metrics_http.h"
#include "program_metrics.h"
#include "proxy_trust_http.h"
#include "stage9.h"

extern const struct stage stage_08;

int stage9_serve(struct app *app, struct stage9 *s)
{
    int rc = stage8_serve(app, &s->s8);
    if (rc == 0)
        rc = proxy_trust_register(app, s->trust);
    if (rc == 0 && s->metrics)
        rc = metrics_http_register(app, s->metrics);
    return rc;
}

static void close_stage(void *s)
{
    stage9_close(s);
}

static int start(struct app *app)
{
    struct stage9 *s = app_calloc(app, sizeof *s, close_stage);
    int rc = s ? stage9_open(app_config(app), s) : ERR_NOMEM;
    return rc != 0 ? rc : stage9_serve(app, s);
}

const struct stage stage_09 = {
    .name = "09-nginx-monitoring",
    .week = 9,
    .prev = &stage_08,
    .declare = stage9_declare,
    .start = start,
    /* taskd-worker and the consumers: their reports as counters on a port of their own. */
    .observer = &program_metrics_provider,
};
