/* stage3.c — stage 3's resources: the cached task store, the job queue and the jobs pool (see
 * stage3.h). Shared by taskd and taskd-worker; nothing here speaks HTTP. */
#include "stage3.h"

#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "cache_fence.h"
#include "config.h"
#include "err.h"
#include "log.h"
#include "pg_pool.h"
#include "queue.h"
#include "task_repo.h"
#include "task_repo_cached.h"

static const struct config_var vars[] = {
    {.name = "REDIS_URL",
     .kind = CONFIG_STRING,
     .required = true,
     .secret = true,
     .min = 1,
     .max = 1024,
     .help = "the job queue's Redis (redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]); also the cache "
             "unless CACHE_BACKEND "
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
    {.name = "WORKER_VISIBILITY_SECONDS",
     .kind = CONFIG_INT,
     .default_value = "30",
     .min = 1,
     .max = 3600,
     .help = "lease of a claimed job: if the worker dies, the job runs again after this"},
    {.name = "JOBS_DB_POOL_SIZE",
     .kind = CONFIG_INT,
     .default_value = "4",
     .min = 1,
     .max = 100,
     .help = "PostgreSQL connections for the job tables"},
};

int stage3_declare(struct config *cfg)
{
    int rc = stage2_declare(cfg);
    return rc != 0 ? rc : config_declare(cfg, vars, sizeof vars / sizeof vars[0]);
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

/* The store stage 2 opened gets the cache in front of it: learn the database's namespace
 * first (the cache keys and the queue are named after it), then wrap. */
static int wrap_store(const struct config *cfg, struct stage3 *s)
{
    struct task_repo **repo = &s->s2.s1.repo;
    int rc = store_namespace(*repo, s->ns);
    if (rc != 0)
        return rc;
    if (snprintf(s->prefix, sizeof s->prefix, "%s:%s", config_get(cfg, "QUEUE_PREFIX"), s->ns) >=
        (int)sizeof s->prefix)
        return ERR_INVALID; /* QUEUE_PREFIX is at most 64 bytes: cannot happen */
    /* The fence that a failed invalidation raises for every instance lives in the database;
     * its few queries go through the jobs pool. */
    if (s->cache && (rc = cache_fence_new(s->jobs_pool, &s->fence)) != 0)
        return rc;
    /* Wrapped even without a cache (every get a MISS), so X-Cache always tells the truth. */
    struct task_repo *cached = NULL;
    rc = task_repo_cached_new(*repo, s->cache, s->fence, s->ns,
                              (int)config_get_int(cfg, "CACHE_TTL_SECONDS"), &cached);
    if (rc == 0 || rc == ERR_NOMEM)
        *repo = cached; /* the wrapper owns the store now; on ERR_NOMEM it has freed it */
    return rc;
}

int stage3_open(const struct config *cfg, struct stage3 *out)
{
    *out = (struct stage3){0};
    if (!stage2_is_postgres_url(config_get(cfg, "DATABASE_URL"))) {
        log_msg(LOG_ERROR, "stage 3 keeps its jobs in PostgreSQL: DATABASE_URL must be "
                           "postgres://... (SQLite is for stage 1)");
        return ERR_INVALID;
    }
    int rc = open_cache(cfg, &out->cache);
    if (rc == 0)
        rc = stage2_open(cfg, &out->s2);
    if (rc == 0)
        rc = stage2_pool_open(cfg, "JOBS_DB_POOL_SIZE", &out->jobs_pool);
    if (rc == 0)
        rc = wrap_store(cfg, out);
    if (rc != 0)
        return rc;
    struct queue_options qo = {
        .url = config_get(cfg, "REDIS_URL"),
        .prefix = out->prefix,
        .visibility_s = (int)config_get_int(cfg, "WORKER_VISIBILITY_SECONDS"),
    };
    return queue_open(&qo, &out->queue);
}

void stage3_close(struct stage3 *s)
{
    queue_free(s->queue);
    stage2_close(&s->s2); /* the cached store first: it uses the cache and the fence */
    cache_fence_free(s->fence);
    pg_pool_free(s->jobs_pool); /* the fence's queries went through it */
    cache_free(s->cache);
    *s = (struct stage3){0};
}
