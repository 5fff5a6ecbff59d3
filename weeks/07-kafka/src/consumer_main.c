/* consumer_main.c — the program skeleton of taskd-notifier and taskd-projector
 * (consumer_main.h). What every week-7 program does around its loop (settings, signals, the
 * supervisor, waiting for the database, the schema) is event_program.h's; this file adds what
 * the consumers share: their settings, the pool, the bus consumer in its group, the loop and its
 * stats. */
#include "consumer_main.h"

#include <stdio.h>

#include "config.h"
#include "consumer.h"
#include "err.h"
#include "event_bus.h"
#include "event_program.h"
#include "lifecycle.h"
#include "log.h"
#include "mailer.h"
#include "observer.h"
#include "pg_pool.h"
#include "stage2.h"
#include "timeutil.h"

/* Every consumer's settings; DATABASE_URL and the DB_* timeouts come from stage2_declare, the
 * broker's from event_bus_declare. */
static const struct config_var vars[] = {
    {.name = "CONSUMER_GROUP",
     .kind = CONFIG_STRING,
     .min = 1,
     .max = EVENT_BUS_GROUP_MAX - 1,
     .help = "the consumer group (and processed_events name); default: the program's "
             "(notifier, projector)"},
    {.name = "CONSUMER_MAX_ATTEMPTS",
     .kind = CONFIG_INT,
     .default_value = "5",
     .min = 1,
     .max = 100,
     .help = "tries of a failing message before it goes to the dead-letter topic"},
    {.name = "CONSUMER_BACKOFF_MS",
     .kind = CONFIG_INT,
     .default_value = "500",
     .min = 0,
     .max = 30000,
     .help = "first wait after a failure or an outage, doubled each time, at most 30 s"},
    {.name = "CONSUMER_POLL_MS",
     .kind = CONFIG_INT,
     .default_value = "500",
     .min = 10,
     .max = 10000,
     .help = "how long one poll waits for a message (a stop is noticed between polls)"},
    {.name = "CONSUMER_BATCH_MAX",
     .kind = CONFIG_INT,
     .default_value = "64",
     .min = 1,
     .max = 1000,
     .help = "fetched messages a transactional consumer (the projector) handles in one "
             "transaction, one savepoint each: one COMMIT for all; 1 = a transaction each"},
    {.name = "CONSUMER_DB_POOL_SIZE",
     .kind = CONFIG_INT,
     .default_value = "2",
     .min = 1,
     .max = 100,
     .help = "PostgreSQL connections of the consumer"},
    {.name = "CONSUMER_STATS_SECONDS",
     .kind = CONFIG_INT,
     .default_value = "60",
     .min = 1,
     .max = 86400,
     .help = "how often the counters (handled, duplicates, retries, dead, waits) are logged"},
};

/* What the loop's tick needs. */
struct run_state {
    const struct lifecycle *lc;
    const struct observer *obs;
    const struct consumer *c;
    const char *group;
    int64_t stats_every_us, next_stats_us;
    struct consumer_stats reported; /* what the observer has heard so far */
};

/* Tells the observer what changed since its previous report (all zero the first time: the
 * consumer's series then exist from the start). The tick runs on the loop's thread, so the
 * counts read here are never written at the same time. */
static void report(struct run_state *rs)
{
    struct consumer_stats s;
    consumer_stats(rs->c, &s);
    struct observed_messages d = {
        .handled = s.handled - rs->reported.handled,
        .duplicates = s.duplicates - rs->reported.duplicates,
        .retried = s.retries - rs->reported.retries,
        .dead_lettered = s.dead - rs->reported.dead,
    };
    observe_messages(rs->obs, rs->group, &d);
    rs->reported = s;
}

static void log_stats(const struct run_state *rs, const char *what)
{
    struct consumer_stats s;
    consumer_stats(rs->c, &s);
    struct log_kv kv[] = {LOG_STR("group", rs->group),
                          LOG_INT("handled", (long long)s.handled),
                          LOG_INT("duplicates", (long long)s.duplicates),
                          LOG_INT("retries", (long long)s.retries),
                          LOG_INT("dead", (long long)s.dead),
                          LOG_INT("waits", (long long)s.waits),
                          LOG_INT("batches", (long long)s.batches),
                          LOG_INT("replays", (long long)s.replays)};
    log_kv(LOG_INFO, what, kv, sizeof kv / sizeof kv[0]);
}

static void tick(void *ctx)
{
    struct run_state *rs = ctx;
    event_program_tick(rs->lc);
    report(rs);
    int64_t now = clock_mono_us();
    if (now >= rs->next_stats_us) {
        log_stats(rs, "consumer stats");
        rs->next_stats_us = now + rs->stats_every_us;
    }
}

static int check(void *ctx, const struct config *cfg)
{
    const struct consumer_program *p = ctx;
    return p->check ? p->check(cfg) : 0;
}

static int init(void *ctx)
{
    const struct consumer_program *p = ctx;
    return p->needs_curl ? mailer_global_init() : 0;
}

static void fini(void *ctx)
{
    const struct consumer_program *p = ctx;
    if (p->needs_curl)
        mailer_global_cleanup();
}

static int run(void *ctx, const struct config *cfg, const struct lifecycle *lc,
               const struct observer *obs, volatile int *stop)
{
    const struct consumer_program *p = ctx;
    struct pg_pool *pool = NULL;
    struct event_consumer *bus = NULL;
    struct consumer *c = NULL;
    struct consumer_handler h = {0};
    void *state = NULL;
    bool state_open = false;
    const char *group = config_get(cfg, "CONSUMER_GROUP");
    if (!group)
        group = p->group;
    int rc = stage2_pool_open(cfg, "CONSUMER_DB_POOL_SIZE", &pool);
    if (rc == 0) {
        rc = p->open(cfg, pool, group, &h, &state);
        state_open = rc == 0;
    }
    struct event_bus_settings bs;
    if (rc == 0)
        rc = event_bus_settings_read(cfg, &bs);
    if (rc == 0)
        rc = event_consumer_open(&bs, group, &bus);
    struct run_state rs = {
        .lc = lc,
        .obs = obs,
        .group = group,
        .stats_every_us = config_get_int(cfg, "CONSUMER_STATS_SECONDS") * INT64_C(1000000),
    };
    struct consumer_options co = {
        .max_attempts = (int)config_get_int(cfg, "CONSUMER_MAX_ATTEMPTS"),
        .backoff_ms = (int)config_get_int(cfg, "CONSUMER_BACKOFF_MS"),
        .poll_timeout_ms = (int)config_get_int(cfg, "CONSUMER_POLL_MS"),
        .batch_max = (int)config_get_int(cfg, "CONSUMER_BATCH_MAX"),
        .tick = tick,
        .tick_ctx = &rs,
    };
    if (rc == 0)
        rc = consumer_new(&co, &h, bus, pool, &c);
    if (rc != 0) {
        log_kv(LOG_ERROR, "cannot start (see above)",
               (struct log_kv[]){LOG_STR("error", err_str(rc))}, 1);
        rc = rc == ERR_INVALID ? 2 : 1;
        goto done;
    }
    rs.c = c;
    report(&rs);
    rs.next_stats_us = clock_mono_us() + rs.stats_every_us;
    struct log_kv kv[] = {LOG_STR("program", p->name), LOG_STR("group", group),
                          LOG_STR("topic", bs.topic), LOG_STR("bus", bus->ops->name)};
    log_kv(LOG_INFO, "consumer started", kv, 4);
    lifecycle_serving(lc, &(struct lifecycle_serving){.program = p->name});
    rc = consumer_run(c, stop) == 0 ? 0 : 1;
    report(&rs);
    log_stats(&rs, "stopped");
done:
    consumer_free(c);
    event_consumer_free(bus);
    if (state_open && p->close)
        p->close(state);
    pg_pool_free(pool);
    return rc;
}

int consumer_main(const struct lifecycle_provider *provider,
                  const struct observer_provider *observing, const struct consumer_program *p,
                  int argc, char **argv)
{
    char summary[1024];
    snprintf(summary, sizeof summary,
             "%s\n\n"
             "It consumes the topic EVENTS_TOPIC in the group CONSUMER_GROUP (default %s), once\n"
             "per event (processed_events), committing each message after its effect. A message\n"
             "that keeps failing goes to EVENTS_TOPIC.dlq after CONSUMER_MAX_ATTEMPTS tries; an\n"
             "outage (database, mail server) is waited out. SIGTERM or SIGINT stops it after the\n"
             "message in hand (exit 0). Exit 1: start-up failed; exit 2: bad configuration.",
             p->about, p->group);
    const struct event_program prog = {
        .name = p->name,
        .summary = summary,
        .vars = vars,
        .nvars = sizeof vars / sizeof vars[0],
        .more_vars = p->vars,
        .nmore = p->nvars,
        .ctx = (void *)p,
        .check = check,
        .init = init,
        .fini = fini,
        .run = run,
    };
    return event_program_main(&prog, provider, observing, argc, argv);
}
