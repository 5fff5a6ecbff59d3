/* stage.c — stage 3: a cache in front of the task store, and background jobs.
 *
 * Stage 3 is stage 2 plus (resources in src/stage3.c, shared with taskd-worker):
 * - a cache (Redis or memcached, CACHE_BACKEND) wrapped around the store stage 2 opens, so
 *   GET /tasks/{id} says X-Cache: HIT or MISS;
 * - POST /exports, GET /jobs/{id} and GET /exports/{id}.csv: jobs are rows in PostgreSQL whose
 *   ids travel on a reliable Redis queue to taskd-worker (a separate program: bin/);
 * - Idempotency-Key on POST /tasks and POST /exports (src/idempotency_http.h), so a client may
 *   retry a POST whose answer it never got;
 * - the cache and the queue as optional lines of GET /ready: they degrade, never make it 503. */
#include <string.h>

#include "app.h"
#include "cache.h"
#include "err.h"
#include "idempotency_http.h"
#include "jobs_http.h"
#include "queue.h"
#include "stage3.h"
#include "xcache_http.h"

extern const struct stage stage_02;

static int cache_check(void *ctx)
{
    return cache_ping(ctx);
}

static int queue_check(void *ctx)
{
    return queue_ping(ctx);
}

int stage3_serve(struct app *app, struct stage3 *s)
{
    int rc = xcache_use(app_http(app)); /* the cached store's HIT/MISS, as X-Cache */
    if (rc == 0)
        rc = stage2_serve(app, &s->s2);
    if (rc != 0)
        return rc;
    /* One line per server: when the cache is the queue's Redis, "redis" covers both. */
    if (s->cache) {
        const struct app_check c = {
            .name = s->cache->ops->name, .check = cache_check, .ctx = s->cache};
        if ((rc = app_add_check(app, &c)) != 0)
            return rc;
    }
    if (!s->cache || strcmp(s->cache->ops->name, "redis") != 0) {
        const struct app_check q = {.name = "redis", .check = queue_check, .ctx = s->queue};
        if ((rc = app_add_check(app, &q)) != 0)
            return rc;
    }
    /* Idempotency-Key on POST /tasks and POST /exports, kept beside the jobs. */
    if ((rc = idempotency_http_use(app, s->jobs_pool)) != 0)
        return rc;
    return jobs_http_register(app, s->jobs_pool, s->queue);
}

static void close_stage(void *s)
{
    stage3_close(s);
}

static int start(struct app *app)
{
    struct stage3 *s = app_calloc(app, sizeof *s, close_stage);
    int rc = s ? stage3_open(app_config(app), s) : ERR_NOMEM;
    return rc != 0 ? rc : stage3_serve(app, s);
}

const struct stage stage_03 = {
    .name = "03-cache-jobs",
    .week = 3,
    .prev = &stage_02,
    .declare = stage3_declare,
    .start = start,
    .commands_help = "Background jobs run in a second program: taskd-worker (see its --help).",
};
