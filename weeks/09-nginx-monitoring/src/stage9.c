/* stage9.c — stage 9's resources: stage 8's and the metrics registry (stage9.h). */
#include "stage9.h"

#include <string.h>

#include "config.h"
#include "db_metrics.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "process_metrics.h"
#include "proxy_trust.h"

static const struct config_var vars[] = {
    {.name = "METRICS",
     .kind = CONFIG_ENUM,
     .default_value = "on",
     .choices = "on|off",
     .help = "GET /metrics and the counting behind it (off: neither, for make bench's "
             "comparison)"},
    {.name = "TRUSTED_PROXIES",
     .kind = CONFIG_STRING,
     .default_value = "",
     .max = 1024,
     .help = "proxies (addresses or CIDR blocks, comma-separated) whose X-Forwarded-For names "
             "the client, as week 9's nginx sets it; empty trusts nobody"},
};

int stage9_declare(struct config *cfg)
{
    int rc = stage8_declare(cfg);
    return rc != 0 ? rc : config_declare(cfg, vars, sizeof vars / sizeof vars[0]);
}

/* The pools of the stages below, by the name their metrics carry. */
static int add_db_series(struct stage9 *s)
{
    struct stage7 *s7 = &s->s8.s7;
    struct stage4 *s4 = &s7->s6.s5.s4;
    const struct db_metrics_pool pools[] = {
        {.name = "tasks", .pool = s4->s3.s2.pool},
        {.name = "jobs", .pool = s4->s3.jobs_pool},
        {.name = "users", .pool = s4->auth.pool},
        {.name = "activity", .pool = s7->read_pool},
    };
    return db_metrics_register(s->metrics, pools, sizeof pools / sizeof pools[0], s7->read_pool);
}

/* TRUSTED_PROXIES, read before anything is opened so that a typo stops the start at once. */
static int open_trust(const struct config *cfg, struct proxy_trust **out)
{
    const char *list = config_get(cfg, "TRUSTED_PROXIES");
    size_t bad = 0;
    int rc = proxy_trust_new(list, out, &bad);
    if (rc == ERR_INVALID)
        log_kv(LOG_ERROR,
               "TRUSTED_PROXIES: not an address or a CIDR block (at most "
               "32 entries)",
               (struct log_kv[]){LOG_STR("entry", list + bad)}, 1);
    return rc;
}

int stage9_open(const struct config *cfg, struct stage9 *out)
{
    *out = (struct stage9){0};
    int rc = open_trust(cfg, &out->trust);
    if (rc == 0)
        rc = stage8_open(cfg, &out->s8);
    if (rc != 0 || strcmp(config_get(cfg, "METRICS"), "on") != 0)
        return rc;
    rc = metrics_new(&out->metrics);
    if (rc == 0)
        rc = process_metrics_register(out->metrics);
    if (rc == 0)
        rc = add_db_series(out);
    return rc;
}

void stage9_close(struct stage9 *s)
{
    metrics_free(s->metrics);
    s->metrics = NULL;
    proxy_trust_free(s->trust);
    s->trust = NULL;
    stage8_close(&s->s8);
}
