/* program_metrics.c — the observer of stage 9's background programs (program_metrics.h). */
#include "program_metrics.h"

#include <stdlib.h>

#include "config.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "process_metrics.h"

static const struct config_var vars[] = {
    {.name = "METRICS_PORT",
     .kind = CONFIG_INT,
     .min = 0,
     .max = 65535,
     .help = "port of this program's GET /metrics, for Prometheus (0: any free port, logged); "
             "unset: no listener and nothing counted"},
    {.name = "METRICS_ADDRESS",
     .kind = CONFIG_STRING,
     .default_value = "127.0.0.1",
     .min = 2,
     .max = 64,
     .help = "address the metrics listener binds (numeric); keep it private: the numbers are "
             "served without auth"},
};

struct program_metrics {
    struct metrics *m;
    struct metrics_family *jobs, *consumed, *dead;
    struct metrics_listener *listener;
};

/* The label sets are closed: job types are the worker's handlers' (or "other"), outcomes the
 * names below, consumers the groups configured on this machine. The bounds are a second line of
 * defence (metrics.h's overflow series). */
const struct metrics_spec program_metrics_jobs_spec = {
    .name = "jobs_total",
    .help = "Jobs by type and status: queued (made: by taskd for exports, by the worker for "
            "reminders), then each attempt's end: succeeded, retried (it runs again after a "
            "backoff), failed (for good: the row stays failed, a dead letter).",
    .type = METRICS_COUNTER,
    .labels = {"type", "status"},
    .max_series = 64,
};

static const struct metrics_spec specs[] = {
    {.name = "events_consumed_total",
     .help = "Messages a consumer finished, by outcome: handled, duplicate (seen before: "
             "skipped), retried (its handler failed; tried again after a backoff).",
     .type = METRICS_COUNTER,
     .labels = {"consumer", "outcome"},
     .max_series = 64},
    {.name = "events_dead_lettered_total",
     .help = "Messages a consumer moved to the dead-letter topic after their last attempt.",
     .type = METRICS_COUNTER,
     .labels = {"consumer"},
     .max_series = 16},
};

static void add(struct metrics_family *f, const char *const *labels, uint64_t n)
{
    struct metrics_series *s = NULL;
    (void)metrics_series(f, labels, &s); /* on ERR_NOMEM, s is the overflow series */
    metrics_add_count(s, n);
}

static void on_job(void *ctx, const char *type, enum observed_job how, uint64_t n)
{
    struct program_metrics *pm = ctx;
    add(pm->jobs, (const char *const[]){type, observed_job_name(how)}, n);
}

static void on_messages(void *ctx, const char *consumer, const struct observed_messages *d)
{
    struct program_metrics *pm = ctx;
    add(pm->consumed, (const char *const[]){consumer, "handled"}, d->handled);
    add(pm->consumed, (const char *const[]){consumer, "duplicate"}, d->duplicates);
    add(pm->consumed, (const char *const[]){consumer, "retried"}, d->retried);
    add(pm->dead, (const char *const[]){consumer}, d->dead_lettered);
}

static void pm_close(void *ctx)
{
    struct program_metrics *pm = ctx;
    if (!pm)
        return;
    metrics_listener_free(pm->listener); /* before the registry it reads */
    metrics_free(pm->m);
    free(pm);
}

/* The registry and its families. */
static int make_registry(struct program_metrics *pm)
{
    int rc = metrics_new(&pm->m);
    if (rc == 0)
        rc = process_metrics_register(pm->m);
    if (rc == 0)
        rc = metrics_add(pm->m, &program_metrics_jobs_spec, &pm->jobs);
    struct metrics_family **families[] = {&pm->consumed, &pm->dead};
    for (size_t i = 0; rc == 0 && i < sizeof specs / sizeof specs[0]; i++)
        rc = metrics_add(pm->m, &specs[i], families[i]);
    return rc;
}

int program_metrics_declare(struct config *cfg)
{
    return config_declare(cfg, vars, sizeof vars / sizeof vars[0]);
}

int program_metrics_open(const struct config *cfg, const char *program, struct observer *out)
{
    *out = (struct observer){0};
    if (!config_get(cfg, "METRICS_PORT"))
        return 0; /* nobody scrapes this program: report into nothing */
    struct program_metrics *pm = calloc(1, sizeof *pm);
    if (!pm)
        return ERR_NOMEM;
    const char *address = config_get(cfg, "METRICS_ADDRESS");
    int rc = make_registry(pm);
    if (rc == 0)
        rc = metrics_listener_new(address, (unsigned)config_get_int(cfg, "METRICS_PORT"), pm->m,
                                  &pm->listener);
    if (rc != 0) {
        log_kv(LOG_ERROR, "cannot serve metrics",
               (struct log_kv[]){LOG_STR("program", program), LOG_STR("error", err_str(rc))}, 2);
        pm_close(pm);
        return rc;
    }
    log_kv(LOG_INFO, "metrics listening",
           (struct log_kv[]){LOG_STR("program", program), LOG_STR("address", address),
                             LOG_INT("port", metrics_listener_port(pm->listener))},
           3);
    *out = (struct observer){.ctx = pm, .job = on_job, .messages = on_messages, .close = pm_close};
    return 0;
}

unsigned program_metrics_port(const struct observer *o)
{
    if (!o || o->close != pm_close)
        return 0;
    const struct program_metrics *pm = o->ctx;
    return metrics_listener_port(pm->listener);
}

const struct observer_provider program_metrics_provider = {
    .declare = program_metrics_declare,
    .open = program_metrics_open,
};
