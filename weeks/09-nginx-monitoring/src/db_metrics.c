/* db_metrics.c — pool and outbox gauges, read at every scrape (db_metrics.h). */
#include "db_metrics.h"

#include <math.h>
#include <stdlib.h>

#include "err.h"
#include "metrics.h"
#include "outbox.h"
#include "pg_pool.h"

enum { IN_USE, IDLE, WAITERS, N_POOL_SERIES };

struct db_metrics {
    size_t n;
    struct db_metrics_pool pools[DB_METRICS_POOLS_MAX];
    struct metrics_series *pool_series[DB_METRICS_POOLS_MAX][N_POOL_SERIES];
    struct pg_pool *outbox_pool;
    struct metrics_series *pending, *oldest_age;
};

static const struct metrics_spec pool_spec = {
    .name = "db_pool_connections",
    .help = "PostgreSQL connections of each pool, by state (in_use or idle).",
    .type = METRICS_GAUGE,
    .labels = {"pool", "state"},
    .max_series = 2 * (size_t)DB_METRICS_POOLS_MAX,
};
static const struct metrics_spec waiters_spec = {
    .name = "db_pool_waiters",
    .help = "Borrowers waiting for a connection of each pool to come free.",
    .type = METRICS_GAUGE,
    .labels = {"pool"},
    .max_series = DB_METRICS_POOLS_MAX,
};
static const struct metrics_spec pending_spec = {
    .name = "outbox_pending",
    .help = "Events written to the outbox and not yet published.",
    .type = METRICS_GAUGE,
    .max_series = 1,
};
static const struct metrics_spec age_spec = {
    .name = "outbox_oldest_pending_age_seconds",
    .help = "Age of the oldest event not yet published (0 when none).",
    .type = METRICS_GAUGE,
    .max_series = 1,
};

static int read_outbox(struct db_metrics *d)
{
    struct pg_conn *c = NULL;
    struct outbox_stats st = {0};
    int rc = pg_pool_acquire(d->outbox_pool, &c);
    if (rc == 0) {
        rc = outbox_stats(c, &st);
        pg_pool_release(d->outbox_pool, c);
    }
    metrics_set(d->pending, rc == 0 ? (double)st.pending : NAN);
    metrics_set(d->oldest_age, rc == 0 ? (double)st.oldest_age_ms / 1000.0 : NAN);
    return rc;
}

static int collect(void *ctx)
{
    struct db_metrics *d = ctx;
    for (size_t i = 0; i < d->n; i++) {
        struct pg_pool_stats st;
        pg_pool_stats(d->pools[i].pool, &st);
        metrics_set(d->pool_series[i][IN_USE], (double)st.in_use);
        metrics_set(d->pool_series[i][IDLE], (double)st.idle);
        metrics_set(d->pool_series[i][WAITERS], (double)st.waiting);
    }
    return d->outbox_pool ? read_outbox(d) : 0;
}

static int add_series(struct metrics *m, struct db_metrics *d)
{
    struct metrics_family *pools = NULL, *waiters = NULL, *pending = NULL, *age = NULL;
    int rc = metrics_add(m, &pool_spec, &pools);
    if (rc == 0)
        rc = metrics_add(m, &waiters_spec, &waiters);
    for (size_t i = 0; rc == 0 && i < d->n; i++) {
        const char *name = d->pools[i].name;
        rc = metrics_series(pools, (const char *const[]){name, "in_use"},
                            &d->pool_series[i][IN_USE]);
        if (rc == 0)
            rc = metrics_series(pools, (const char *const[]){name, "idle"},
                                &d->pool_series[i][IDLE]);
        if (rc == 0)
            rc = metrics_series(waiters, (const char *const[]){name}, &d->pool_series[i][WAITERS]);
    }
    if (rc == 0 && d->outbox_pool) {
        rc = metrics_add(m, &pending_spec, &pending);
        if (rc == 0)
            rc = metrics_add(m, &age_spec, &age);
        if (rc == 0)
            rc = metrics_series(pending, NULL, &d->pending);
        if (rc == 0)
            rc = metrics_series(age, NULL, &d->oldest_age);
    }
    return rc;
}

int db_metrics_register(struct metrics *m, const struct db_metrics_pool *pools, size_t n,
                        struct pg_pool *outbox_pool)
{
    if (!m || n > DB_METRICS_POOLS_MAX || (n && !pools))
        return ERR_INVALID;
    struct db_metrics *d = calloc(1, sizeof *d);
    if (!d)
        return ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (pools[i].pool && pools[i].name)
            d->pools[d->n++] = pools[i];
    d->outbox_pool = outbox_pool;
    int rc = add_series(m, d);
    if (rc != 0) {
        free(d);
        return rc;
    }
    return metrics_on_collect(m, collect, d, free); /* m frees d, even when this fails */
}
