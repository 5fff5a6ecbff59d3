/* stage.c — stage 3: a cache in front of the task store, and background jobs.
 *
 * Stage 3 is stage 2 plus:
 * - a cache (Redis or memcached, CACHE_BACKEND) wrapped around the repository stage 1 opens,
 *   through stage 1's "task_repo_wrapper" seam, so GET /tasks/{id} says X-Cache: HIT or MISS;
 * - POST /exports, GET /jobs/{id} and GET /exports/{id}.csv: jobs are rows in PostgreSQL whose
 *   ids travel on a reliable Redis queue to taskd-worker (a separate program: bin/);
 * - the cache and the queue as optional lines of GET /ready: they degrade, never make it 503.
 * Every Redis key starts with QUEUE_PREFIX / the cache namespace and a name for the database
 * (store_ns.h), so several databases can share one Redis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cache.h"
#include "config.h"
#include "err.h"
#include "jobs_http.h"
#include "log.h"
#include "pg_pool.h"
#include "queue.h"
#include "ready_http.h"
#include "store_ns.h"
#include "task_repo.h"
#include "task_repo_cached.h"
#include "task_repo_factory.h"
#include "xcache.h"

extern const struct stage stage_02;

static const struct config_var vars[] = {
    {.name = "REDIS_URL",
     .kind = CONFIG_STRING,
     .required = true,
     .min = 1,
     .max = 1024,
     .help = "the job queue's Redis (redis://HOST:PORT/DB); also the cache unless CACHE_BACKEND "
             "says otherwise"},
    {.name = "MEMCACHED_URL",
     .kind = CONFIG_STRING,
     .max = 1024,
     .help = "memcached for CACHE_BACKEND=memcached (memcached://HOST:PORT)"},
    {.name = "CACHE_BACKEND",
     .kind = CONFIG_ENUM,
     .default_value = "redis",
     .choices = "redis|memcached|none",
     .help = "where GET /tasks/{id} is cached"},
    {.name = "CACHE_TTL_SECONDS",
     .kind = CONFIG_INT,
     .default_value = "60",
     .min = 1,
     .max = 86400,
     .help = "how long a cached task lives"},
    {.name = "QUEUE_PREFIX",
     .kind = CONFIG_STRING,
     .default_value = "taskd",
     .min = 1,
     .max = 64,
     .help = "first part of every Redis key of the job queue (taskd-worker must agree)"},
    {.name = "JOBS_DB_POOL_SIZE",
     .kind = CONFIG_INT,
     .default_value = "4",
     .min = 1,
     .max = 100,
     .help = "PostgreSQL connections for the job routes"},
};

struct stage3 {
    struct cache *cache; /* NULL: CACHE_BACKEND=none */
    int ttl_s;
    char ns[STORE_NS_LEN + 1];
};

static int declare(struct config *cfg)
{
    int rc = stage_02.declare(cfg);
    return rc != 0 ? rc : config_declare(cfg, vars, sizeof vars / sizeof vars[0]);
}

static void cache_release(void *c)
{
    cache_free(c);
}

static void queue_release_cb(void *q)
{
    queue_free(q);
}

static void pool_release(void *p)
{
    pg_pool_free(p);
}

static int cache_check(void *ctx)
{
    return cache_ping(ctx);
}

static int queue_check(void *ctx)
{
    return queue_ping(ctx);
}

/* Stage 1 hands us the store it opened: learn the database's namespace, then wrap it. */
static int wrap(void *ctx, struct task_repo *inner, struct task_repo **out)
{
    struct stage3 *s = ctx;
    int rc = store_namespace(inner, s->ns);
    if (rc != 0) {
        task_repo_free(inner);
        return rc;
    }
    return task_repo_cached_new(inner, s->cache, s->ns, s->ttl_s, out);
}

static int open_cache(const struct config *cfg, struct cache **out)
{
    const char *backend = config_get(cfg, "CACHE_BACKEND");
    *out = NULL;
    if (strcmp(backend, "none") == 0)
        return 0;
    const char *url = strcmp(backend, "redis") == 0 ? config_get(cfg, "REDIS_URL")
                                                    : config_get(cfg, "MEMCACHED_URL");
    if (!url || !*url) {
        log_msg(LOG_ERROR, "CACHE_BACKEND=memcached needs MEMCACHED_URL");
        return ERR_INVALID;
    }
    return cache_open(url, out);
}

static int start(struct app *app)
{
    const struct config *cfg = app_config(app);
    const char *db = config_get(cfg, "DATABASE_URL");
    if (strncmp(db, "postgres://", 11) != 0 && strncmp(db, "postgresql://", 13) != 0) {
        log_msg(LOG_ERROR, "stage 3 keeps its jobs in PostgreSQL: DATABASE_URL must be "
                           "postgres://... (SQLite is for stage 1)");
        return ERR_INVALID;
    }
    struct stage3 *s = calloc(1, sizeof *s);
    if (!s)
        return ERR_NOMEM;
    int rc = app_defer(app, free, s);
    if (rc != 0)
        return rc;
    s->ttl_s = (int)config_get_int(cfg, "CACHE_TTL_SECONDS");
    if ((rc = open_cache(cfg, &s->cache)) != 0)
        return rc;
    if (s->cache && ((rc = app_defer(app, cache_release, s->cache)) != 0 ||
                     (rc = ready_add_optional(s->cache->ops->name, cache_check, s->cache)) != 0))
        return rc;
    /* The wrapper must outlive stage 1's start; it lives in s, freed when the app stops. */
    static struct task_repo_wrapper wrapper;
    wrapper = (struct task_repo_wrapper){.wrap = wrap, .ctx = s};
    if ((rc = app_set_service(app, "task_repo_wrapper", &wrapper)) != 0)
        return rc;
    if ((rc = xcache_use(app_http(app))) != 0) /* the wrapper's HIT/MISS, as X-Cache */
        return rc;
    if ((rc = stage_02.start(app)) != 0)
        return rc;
    /* Later stages key their own Redis data by the same name (week 4's login throttling). */
    if ((rc = app_set_service(app, "store_ns", s->ns)) != 0)
        return rc;

    /* The job routes: a pool of their own, and the queue under this database's namespace. */
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s:%s", config_get(cfg, "QUEUE_PREFIX"), s->ns);
    struct queue_options qo = {
        .url = config_get(cfg, "REDIS_URL"), .prefix = prefix, .visibility_s = 30};
    struct queue *q = NULL;
    if ((rc = queue_open(&qo, &q)) != 0 || (rc = app_defer(app, queue_release_cb, q)) != 0)
        return rc;
    if (!s->cache || strcmp(s->cache->ops->name, "redis") != 0)
        if ((rc = ready_add_optional("redis", queue_check, q)) != 0)
            return rc;
    struct pg_pool_options po = {.url = db,
                                 .size = (size_t)config_get_int(cfg, "JOBS_DB_POOL_SIZE"),
                                 .wait_ms = (int)config_get_int(cfg, "DB_POOL_WAIT_MS"),
                                 .connect_timeout_s =
                                     (int)config_get_int(cfg, "DB_CONNECT_TIMEOUT_SECONDS")};
    struct pg_pool *pool = NULL;
    if ((rc = pg_pool_new(&po, &pool)) != 0 || (rc = app_defer(app, pool_release, pool)) != 0)
        return rc;
    return jobs_http_register(app, pool, q);
}

static int command(struct config *cfg, int argc, char **argv)
{
    return stage_02.command(cfg, argc, argv);
}

const struct stage stage_03 = {
    .name = "03-cache-jobs",
    .week = 3,
    .declare = declare,
    .start = start,
    .command = command,
    .commands_help =
        "  migrate            apply pending schema migrations (DATABASE_URL=postgres://)\n"
        "  migrate --status   list migrations, applied or pending (exit 3: pending)\n"
        "Background jobs run in a second program: taskd-worker (see its --help).",
};
