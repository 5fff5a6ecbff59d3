/* taskd-relay.c — main() of the outbox relay of stage 7.
 *
 * taskd writes each change's event into the outbox table; this program publishes those rows to
 * the topic (EVENTS_TOPIC, on EVENT_BUS) and deletes each from its delivery report
 * (relay.h). Run one or several beside taskd: they share the work without publishing a task's
 * events out of order (outbox.h). Stopping (SIGTERM) waits for the reports of what is in flight
 * and writes them down; a relay killed outright loses nothing either: its rows come back when
 * their lease ends, and are published again. Exit 0 after a clean stop, 1 when start-up failed,
 * 2 for a bad configuration. */
#include <stdio.h>

#include "app.h"
#include "config.h"
#include "err.h"
#include "event_bus.h"
#include "event_program.h"
#include "lifecycle.h"
#include "log.h"
#include "outbox.h"
#include "pg_pool.h"
#include "relay.h"
#include "stage2.h"

#ifndef TASKD_STAGE
#error "build with -DTASKD_STAGE=stage_NN (the Makefile does)"
#endif
extern const struct stage TASKD_STAGE;

static const struct config_var vars[] = {
    {.name = "RELAY_DB_POOL_SIZE",
     .kind = CONFIG_INT,
     .default_value = "1",
     .min = 1,
     .max = 16,
     .help = "PostgreSQL connections of the relay (it uses one at a time)"},
    {.name = "OUTBOX_BATCH",
     .kind = CONFIG_INT,
     .default_value = "200",
     .min = 1,
     .max = OUTBOX_BATCH_MAX,
     .help = "outbox rows claimed and published per turn"},
    {.name = "OUTBOX_LEASE_MS",
     .kind = CONFIG_INT,
     .default_value = "30000",
     .min = 100,
     .max = 3600000,
     .help = "how long claimed rows are this relay's; longer than EVENT_BUS_TIMEOUT_MS"},
    {.name = "OUTBOX_BACKOFF_MS",
     .kind = CONFIG_INT,
     .default_value = "500",
     .min = 0,
     .max = 60000,
     .help = "a row the broker refused waits this * 2^(attempts-1) ms, at most a minute"},
    {.name = "OUTBOX_POLL_MS",
     .kind = CONFIG_INT,
     .default_value = "20",
     .min = 1,
     .max = 10000,
     .help = "pause after a turn that found nothing to publish"},
    {.name = "OUTBOX_STATS_SECONDS",
     .kind = CONFIG_INT,
     .default_value = "10",
     .min = 1,
     .max = 3600,
     .help = "how often outbox_pending and the oldest row's age are logged"},
};

static int check(void *ctx, const struct config *cfg)
{
    (void)ctx;
    if (config_get_int(cfg, "OUTBOX_LEASE_MS") <= config_get_int(cfg, "EVENT_BUS_TIMEOUT_MS")) {
        fprintf(stderr, "OUTBOX_LEASE_MS must be longer than EVENT_BUS_TIMEOUT_MS: a lease that "
                        "ends before its delivery report would publish rows twice\n");
        return ERR_INVALID;
    }
    return 0;
}

/* The relay reports nothing to obs: what it does is measured where it is seen, in taskd's
 * outbox_pending and in the consumers' counts. */
static int run(void *ctx, const struct config *cfg, const struct lifecycle *lc,
               const struct observer *obs, volatile int *stop)
{
    (void)ctx;
    (void)obs;
    struct event_bus_settings bus;
    struct pg_pool *pool = NULL;
    struct relay *r = NULL;
    struct event_producer *p = NULL;
    int rc = event_bus_settings_read(cfg, &bus);
    if (rc == 0)
        rc = stage2_pool_open(cfg, "RELAY_DB_POOL_SIZE", &pool);
    struct relay_options o = {
        .topic = bus.topic,
        .batch = (size_t)config_get_int(cfg, "OUTBOX_BATCH"),
        .lease_ms = (int)config_get_int(cfg, "OUTBOX_LEASE_MS"),
        .delivery_ms = bus.timeout_ms,
        .backoff_ms = (int)config_get_int(cfg, "OUTBOX_BACKOFF_MS"),
        .poll_ms = (int)config_get_int(cfg, "OUTBOX_POLL_MS"),
        .stats_s = (int)config_get_int(cfg, "OUTBOX_STATS_SECONDS"),
    };
    if (rc == 0)
        rc = relay_new(&o, pool, &r);
    if (rc == 0)
        rc = event_producer_open(&bus, relay_delivered, r, &p);
    if (rc != 0) {
        log_kv(LOG_ERROR, "taskd-relay cannot start",
               (struct log_kv[]){LOG_STR("error", err_str(rc))}, 1);
        goto done;
    }
    relay_use_producer(r, p);
    log_kv(LOG_INFO, "relay started",
           (struct log_kv[]){LOG_STR("bus", p->ops->name), LOG_STR("topic", bus.topic)}, 2);
    lifecycle_serving(lc, &(struct lifecycle_serving){.program = "taskd-relay"});
    rc = relay_run(r, stop, lc);
    log_msg(LOG_INFO, "relay stopped");
done:
    event_producer_free(p); /* its last reports were settled by relay_run */
    relay_free(r);
    pg_pool_free(pool);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    static const struct event_program prog = {
        .name = "taskd-relay",
        .summary = "The outbox relay of taskd (stage 7): publishes the events taskd wrote to the\n"
                   "outbox table, deleting each when the broker confirms it, until SIGTERM\n"
                   "or SIGINT. Exit 2: bad configuration.",
        .vars = vars,
        .nvars = sizeof vars / sizeof vars[0],
        .check = check,
        .run = run,
    };
    return event_program_main(&prog, stage_lifecycle(&TASKD_STAGE), stage_observer(&TASKD_STAGE),
                              argc, argv);
}
