/* consumer_main.c — the program skeleton of taskd-notifier and taskd-projector
 * (consumer_main.h). The pattern is week 3's taskd-worker: settings first, every bad one
 * reported before anything starts (exit 2); wait for the database rather than fail; refuse a
 * schema older than the binary; tell the supervisor when the loop turns; stop cleanly. */
#include "consumer_main.h"

#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "config.h"
#include "consumer.h"
#include "err.h"
#include "event_bus.h"
#include "lifecycle.h"
#include "log.h"
#include "log_config.h"
#include "mailer.h"
#include "migrate.h"
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

/* The signal handlers only set flags; the loop (through its tick) decides. */
static volatile int stop_requested;
static volatile sig_atomic_t reload_requests;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_reload_signal(int sig)
{
    (void)sig;
    reload_requests = 1;
}

static int install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* libpq and the broker's client never see EINTR */
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return ERR_INTERNAL;
    sa.sa_handler = on_reload_signal;
    if (sigaction(SIGHUP, &sa, NULL) != 0)
        return ERR_INTERNAL;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static void usage(const struct consumer_program *p, const struct config *cfg, FILE *out)
{
    fprintf(out,
            "usage: %s [--help]\n\n%s\n\n"
            "It consumes the topic EVENTS_TOPIC in the group CONSUMER_GROUP (default %s), once\n"
            "per event (processed_events), committing each message after its effect. A message\n"
            "that keeps failing goes to EVENTS_TOPIC.dlq after CONSUMER_MAX_ATTEMPTS tries; an\n"
            "outage (database, mail server) is waited out. SIGTERM or SIGINT stops it after the\n"
            "message in hand (exit 0). Exit 1: start-up failed; exit 2: bad configuration.\n\n"
            "Configuration comes from the environment:\n\n",
            p->name, p->about, p->group);
    config_print_help(cfg, out);
}

static int load_settings(const struct consumer_program *p, struct config *cfg)
{
    int rc = config_load(cfg, stderr);
    if (rc == 0 && !stage2_is_postgres_url(config_get(cfg, "DATABASE_URL"))) {
        fprintf(stderr, "DATABASE_URL: must be postgres://USER:PASSWORD@HOST:PORT/DB (taskd's "
                        "PostgreSQL database)\n");
        rc = ERR_INVALID;
    }
    if (rc == 0 && p->check)
        rc = p->check(cfg);
    if (rc != 0) {
        fprintf(stderr, "%s: fix the configuration above (see %s --help)\n", p->name, p->name);
        return 2;
    }
    log_config_apply(cfg);
    return 0;
}

/* Waits (one try a second) until the database answers or a stop signal comes. */
static int wait_for_database(const char *url)
{
    bool logged = false;
    while (!stop_requested) {
        if (PQping(url) == PQPING_OK)
            return 0;
        if (!logged)
            log_msg(LOG_WARN, "waiting for PostgreSQL: retrying every second");
        logged = true;
        struct timespec second = {.tv_sec = 1, .tv_nsec = 0};
        nanosleep(&second, NULL);
    }
    return ERR_UNAVAILABLE;
}

/* The tables this binary reads must exist: a schema with migrations pending is refused (taskd
 * migrates; a consumer never does). 0, ERR_CONFLICT (pending), ERR_UNAVAILABLE. */
static int schema_current(const struct config *cfg)
{
    PGconn *c = migrate_connect(config_get(cfg, "DATABASE_URL"),
                                (int)config_get_int(cfg, "DB_CONNECT_TIMEOUT_SECONDS"));
    if (!c)
        return ERR_UNAVAILABLE;
    size_t pending = 0;
    int rc = migrate_status(c, migrations, migrations_count, NULL, &pending);
    PQfinish(c);
    if (rc == 0 && pending > 0) {
        log_kv(LOG_ERROR,
               "the database schema is behind this binary: run `taskd migrate` (or start taskd "
               "with AUTO_MIGRATE=1) first",
               (struct log_kv[]){LOG_INT("pending", (long long)pending)}, 1);
        rc = ERR_CONFLICT;
    }
    return rc;
}

/* What the loop's tick needs. */
struct run_state {
    const struct lifecycle *lc;
    const struct consumer *c;
    const char *group;
    int64_t stats_every_us, next_stats_us;
    bool stopping_told;
};

static void log_stats(const struct run_state *rs, const char *what)
{
    struct consumer_stats s;
    consumer_stats(rs->c, &s);
    struct log_kv kv[] = {LOG_STR("group", rs->group),
                          LOG_INT("handled", (long long)s.handled),
                          LOG_INT("duplicates", (long long)s.duplicates),
                          LOG_INT("retries", (long long)s.retries),
                          LOG_INT("dead", (long long)s.dead),
                          LOG_INT("waits", (long long)s.waits)};
    log_kv(LOG_INFO, what, kv, sizeof kv / sizeof kv[0]);
}

static void tick(void *ctx)
{
    struct run_state *rs = ctx;
    lifecycle_alive(rs->lc);
    if (reload_requests) {
        reload_requests = 0;
        log_msg(LOG_INFO, "reloading (SIGHUP)");
        if (lifecycle_reload(rs->lc) == ERR_NOT_FOUND)
            log_msg(LOG_INFO, "SIGHUP: this stage has no settings that change live");
    }
    if (stop_requested && !rs->stopping_told) {
        lifecycle_stopping(rs->lc);
        rs->stopping_told = true;
    }
    int64_t now = clock_mono_us();
    if (now >= rs->next_stats_us) {
        log_stats(rs, "consumer stats");
        rs->next_stats_us = now + rs->stats_every_us;
    }
}

int consumer_main(const struct stage *stage, const struct consumer_program *p, int argc,
                  char **argv)
{
    int rc = 1;
    bool curl_ready = false;
    struct config *cfg = NULL;
    struct pg_pool *pool = NULL;
    struct event_consumer *bus = NULL;
    struct consumer *c = NULL;
    struct consumer_handler h = {0};
    void *state = NULL;
    bool state_open = false;
    struct lifecycle lc = {0};
    const struct lifecycle_provider *provider = stage_lifecycle(stage);

    if (install_signals() != 0) {
        fprintf(stderr, "%s: cannot install signal handlers\n", p->name);
        return 1;
    }
    cfg = config_new();
    if (!cfg || log_config_declare(cfg) != 0 || stage2_declare(cfg) != 0 ||
        event_bus_declare(cfg) != 0 ||
        config_declare(cfg, vars, sizeof vars / sizeof vars[0]) != 0 ||
        (p->vars && config_declare(cfg, p->vars, p->nvars) != 0) ||
        (provider && provider->declare && provider->declare(cfg) != 0)) {
        fprintf(stderr, "%s: out of memory\n", p->name);
        goto done;
    }
    if (config_help_requested(argc, argv)) {
        usage(p, cfg, stdout);
        rc = 0;
        goto done;
    }
    if (argc > 1) {
        fprintf(stderr, "%s: unexpected argument '%s' (try --help)\n", p->name, argv[1]);
        rc = 2;
        goto done;
    }
    if ((rc = load_settings(p, cfg)) != 0)
        goto done;
    if (provider && provider->open(cfg, &lc) != 0) {
        fprintf(stderr, "%s: fix the configuration above (see %s --help)\n", p->name, p->name);
        rc = 2;
        goto done;
    }
    rc = 1;
    if (p->needs_curl) {
        if (mailer_global_init() != 0) {
            log_msg(LOG_ERROR, "cannot initialise libcurl");
            goto done;
        }
        curl_ready = true;
    }
    const char *group = config_get(cfg, "CONSUMER_GROUP");
    if (!group)
        group = p->group;

    lifecycle_status(&lc, "starting: waiting for PostgreSQL");
    if (wait_for_database(config_get(cfg, "DATABASE_URL")) != 0) {
        rc = 0; /* stopped while waiting: nothing started, nothing lost */
        goto done;
    }
    int orc = schema_current(cfg);
    if (orc == 0)
        orc = stage2_pool_open(cfg, "CONSUMER_DB_POOL_SIZE", &pool);
    if (orc == 0) {
        orc = p->open(cfg, pool, group, &h, &state);
        state_open = orc == 0;
    }
    struct event_bus_settings bs;
    if (orc == 0)
        orc = event_bus_settings_read(cfg, &bs);
    if (orc == 0)
        orc = event_consumer_open(&bs, group, &bus);
    struct consumer_options co = {
        .max_attempts = (int)config_get_int(cfg, "CONSUMER_MAX_ATTEMPTS"),
        .backoff_ms = (int)config_get_int(cfg, "CONSUMER_BACKOFF_MS"),
        .poll_timeout_ms = (int)config_get_int(cfg, "CONSUMER_POLL_MS"),
        .tick = tick,
    };
    struct run_state rs = {
        .lc = &lc,
        .group = group,
        .stats_every_us = config_get_int(cfg, "CONSUMER_STATS_SECONDS") * INT64_C(1000000),
    };
    co.tick_ctx = &rs;
    if (orc == 0)
        orc = consumer_new(&co, &h, bus, pool, &c);
    if (orc != 0) {
        log_kv(LOG_ERROR, "cannot start (see above)",
               (struct log_kv[]){LOG_STR("error", err_str(orc))}, 1);
        rc = orc == ERR_INVALID ? 2 : 1;
        goto done;
    }
    rs.c = c;
    rs.next_stats_us = clock_mono_us() + rs.stats_every_us;
    struct log_kv kv[] = {LOG_STR("program", p->name), LOG_STR("group", group),
                          LOG_STR("topic", bs.topic),
                          LOG_STR("bus", bs.kind == EVENT_BUS_RABBITMQ ? "rabbitmq" : "kafka")};
    log_kv(LOG_INFO, "consumer started", kv, 4);
    lifecycle_serving(&lc, &(struct lifecycle_serving){.program = p->name});

    rc = consumer_run(c, &stop_requested) == 0 ? 0 : 1;
    if (!rs.stopping_told)
        lifecycle_stopping(&lc);
    log_stats(&rs, "stopped");
done:
    consumer_free(c);
    event_consumer_free(bus);
    if (state_open && p->close)
        p->close(state);
    pg_pool_free(pool);
    if (curl_ready)
        mailer_global_cleanup();
    lifecycle_close(&lc);
    config_free(cfg);
    return rc;
}
