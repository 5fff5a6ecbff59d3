/* cache_fence.c — the cache's shared fence, one row in PostgreSQL (cache_fence.h).
 *
 * The view: fresh_us is when this instance's last successful read of the fence *started*,
 * closed_until_us when the fence it saw (or raised) ends, both on the monotonic clock. A reader
 * that finds the view older than a quarter window re-reads it, unless another thread already is
 * (trylock: a cache hit never queues behind the database); every reader trusts the cache only
 * while the view is younger than the whole window. */
#include "cache_fence.h"

#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "err.h"
#include "log.h"
#include "pg_pool.h"
#include "timeutil.h"

/* After the window, a little more: the slowest instance's clock may run a little slower. */
#define RAISE_MARGIN_US 50000

#define FENCE_STMT_BASE 60 /* after idempotency.c's 56..59: they share the jobs pool */
enum fence_stmt { STMT_RAISE = FENCE_STMT_BASE, STMT_READ, STMT_END };
_Static_assert(STMT_END <= PG_POOL_STATEMENTS_MAX, "too many statements for the pool");

static const char RAISE_SQL[] =
    "UPDATE cache_fence SET until = greatest(until, now() + $1::int * interval '1 second')";
/* Microseconds left, from the database's clock: the instances need not agree on the time. */
static const char READ_SQL[] = "SELECT CASE WHEN until > now() THEN "
                               "ceil(extract(epoch FROM until - now()) * 1000000)::bigint "
                               "ELSE 0 END FROM cache_fence";

struct cache_fence {
    struct pg_pool *pool;
    pthread_mutex_t refresh; /* held by the one thread re-reading the fence */
    _Atomic int64_t fresh_us;
    _Atomic int64_t closed_until_us;
    atomic_bool failing; /* the last read failed (logged once) */
};

int cache_fence_new(struct pg_pool *pool, struct cache_fence **out)
{
    if (!pool || !out)
        return ERR_INVALID;
    *out = NULL;
    struct cache_fence *f = calloc(1, sizeof *f);
    if (!f)
        return ERR_NOMEM;
    if (pthread_mutex_init(&f->refresh, NULL) != 0) {
        free(f);
        return ERR_NOMEM;
    }
    f->pool = pool;
    /* Never read: stale from the start, so the first reader reads it. */
    atomic_init(&f->fresh_us, clock_mono_us() - 2 * (int64_t)CACHE_FENCE_WINDOW_US);
    atomic_init(&f->closed_until_us, 0);
    atomic_init(&f->failing, false);
    *out = f;
    return 0;
}

void cache_fence_free(struct cache_fence *f)
{
    if (!f)
        return;
    pthread_mutex_destroy(&f->refresh);
    free(f);
}

static void close_for(struct cache_fence *f, int64_t us)
{
    int64_t until = clock_mono_us() + us;
    int64_t cur = atomic_load(&f->closed_until_us);
    while (cur < until && !atomic_compare_exchange_weak(&f->closed_until_us, &cur, until))
        ;
}

static void sleep_us(int64_t us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int cache_fence_raise(struct cache_fence *f, int ttl_s)
{
    close_for(f, (int64_t)ttl_s * 1000000); /* this instance at once, whatever happens next */
    struct pg_params p = {0};
    pg_param_i64(&p, 1, ttl_s); /* parameters count from $1 */
    PGresult *res = NULL;
    int rc = pg_pool_exec(f->pool, STMT_RAISE, RAISE_SQL, 1, p.v, &res);
    PQclear(res);
    if (rc != 0) {
        struct log_kv kv[] = {LOG_INT("seconds", ttl_s)};
        log_kv(LOG_ERROR,
               "could not fence the cache in the database: other instances may serve a stale "
               "task for up to one TTL",
               kv, 1);
        return rc;
    }
    /* Every instance re-reads the fence within the window: once it has passed, none can serve
     * from the cache without having seen this fence. */
    sleep_us(CACHE_FENCE_WINDOW_US + RAISE_MARGIN_US);
    return 0;
}

/* Re-reads the fence: 0 or an ERR_ code (the view then ages and the cache goes unused). */
static int refresh(struct cache_fence *f)
{
    int64_t started = clock_mono_us();
    PGresult *res = NULL;
    int64_t left = 0;
    int rc = pg_pool_exec(f->pool, STMT_READ, READ_SQL, 0, NULL, &res);
    if (rc == 0 && (PQntuples(res) != 1 || pg_parse_i64(PQgetvalue(res, 0, 0), &left) != 0))
        rc = ERR_INTERNAL; /* no row: the migration's row was deleted by hand */
    PQclear(res);
    bool was = atomic_exchange(&f->failing, rc != 0);
    if (rc != 0) {
        if (!was)
            log_msg(LOG_WARN, "cannot read the cache fence; not reading the cache meanwhile");
        return rc;
    }
    if (was)
        log_msg(LOG_INFO, "the cache fence can be read again");
    if (left > 0)
        close_for(f, left);
    atomic_store(&f->fresh_us, started);
    return 0;
}

bool cache_fence_allows(struct cache_fence *f)
{
    int64_t now = clock_mono_us();
    if (now - atomic_load(&f->fresh_us) >= CACHE_FENCE_WINDOW_US / 4 &&
        pthread_mutex_trylock(&f->refresh) == 0) {
        refresh(f);
        pthread_mutex_unlock(&f->refresh);
        now = clock_mono_us();
    }
    return now - atomic_load(&f->fresh_us) < CACHE_FENCE_WINDOW_US &&
           now >= atomic_load(&f->closed_until_us);
}
