/* stage7.c — stage 7's resources: stage 6's, with the outbox under the cache, and a pool for the
 * activity feed (stage7.h). */
#include "config.h"
#include "err.h"
#include "log.h"
#include "pg_pool.h"
#include "stage7.h"
#include "task_repo.h"
#include "task_repo_cached.h"
#include "task_repo_outbox.h"

static const struct config_var vars[] = {
    {.name = "ACTIVITY_DB_POOL_SIZE",
     .kind = CONFIG_INT,
     .default_value = "2",
     .min = 1,
     .max = 1000,
     .help = "PostgreSQL connections for GET /tasks/{id}/activity"},
};

int stage7_declare(struct config *cfg)
{
    int rc = stage6_declare(cfg);
    return rc != 0 ? rc : config_declare(cfg, vars, sizeof vars / sizeof vars[0]);
}

/* Stage 3 wrapped the PostgreSQL store with the cache. The outbox goes between them, so the
 * cache sees its writes as it saw the store's. */
static int wrap_store(struct stage7 *s)
{
    struct task_repo **slot = task_repo_cached_inner(s->s6.s5.s4.s3.s2.s1.repo);
    if (!slot) {
        log_msg(LOG_ERROR, "stage 7 expects stage 3's cached store");
        return ERR_INTERNAL;
    }
    struct task_repo *outbox = NULL;
    int rc = task_repo_outbox_new(*slot, &outbox);
    if (rc == 0)
        *slot = outbox; /* it owns the PostgreSQL store now */
    return rc;
}

int stage7_open(const struct config *cfg, struct stage7 *out)
{
    *out = (struct stage7){0};
    int rc = stage6_open(cfg, &out->s6);
    if (rc == 0)
        rc = wrap_store(out);
    if (rc == 0)
        rc = stage2_pool_open(cfg, "ACTIVITY_DB_POOL_SIZE", &out->read_pool);
    return rc;
}

void stage7_close(struct stage7 *s)
{
    pg_pool_free(s->read_pool);
    stage6_close(&s->s6);
    *s = (struct stage7){0};
}
