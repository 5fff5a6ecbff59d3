/* db_metrics.h — the database side of the metrics: connection pools and the outbox.
 *
 * Two questions an operator asks first when requests slow down: are requests waiting for a
 * database connection (db_pool_connections{pool,state}, db_pool_waiters{pool}), and are events
 * piling up unsent (outbox_pending, outbox_oldest_pending_age_seconds: week 7's relay is down,
 * or the broker is)? The answers live in the pools (week 2's pg_pool_stats) and in the outbox
 * table (week 7's outbox_stats); a collector reads them at every scrape. Reading the pools
 * takes each pool's lock for a moment; reading the outbox is one query on a borrowed
 * connection, so a scrape while the database is down shows the outbox as NaN (unknown)
 * rather than failing or waiting long (the pool's wait and statement timeouts apply). */
#ifndef TASKD_DB_METRICS_H
#define TASKD_DB_METRICS_H

#include <stddef.h>

struct metrics;
struct pg_pool;

#define DB_METRICS_POOLS_MAX 8

struct db_metrics_pool {
    const char *name; /* the pool label: "tasks", "jobs"...; must outlive the registry */
    struct pg_pool *pool;
};

/* Adds the families and their collector. pools[0..n) are copied (n <= DB_METRICS_POOLS_MAX);
 * entries whose pool is NULL are skipped (a SQLite store has no pool). outbox_pool lends the
 * connection for the outbox's query (NULL: no outbox series). Every pool must outlive m. 0,
 * ERR_INVALID or ERR_NOMEM. */
int db_metrics_register(struct metrics *m, const struct db_metrics_pool *pools, size_t n,
                        struct pg_pool *outbox_pool);

#endif
