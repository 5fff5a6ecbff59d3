/* supervisor.c — stage 5's lifecycle hooks for systemd (see supervisor.h). */
#include "supervisor.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "err.h"
#include "journal.h"
#include "live_settings.h"
#include "log.h"
#include "notify.h"
#include "probe.h"
#include "watchdog.h"

static const struct config_var vars[] = {
    {.name = "TASKD_CONFIG_FILE",
     .kind = CONFIG_STRING,
     .min = 1,
     .max = 4096,
     .help = "file of NAME=value lines (systemd EnvironmentFile format) read at start and on "
             "SIGHUP; it wins over the environment for the live setting, LOG_LEVEL (SIGHUP "
             "changes only that: the others need a restart); unset = none"},
};

struct supervisor {
    const struct config *cfg; /* the running configuration (the program's own) */
    const char *config_file;  /* TASKD_CONFIG_FILE, or NULL */
    uint64_t watchdog_usec;   /* 0: systemd asks for no watchdog */
    struct watchdog *watchdog;
    struct heartbeat heartbeat; /* the worker's loop beats it */
    char program[32];
    char address[64]; /* taskd's, for the probe */
    unsigned port;    /* 0: no HTTP, the heartbeat is the probe */
};

static int declare(struct config *cfg)
{
    return config_declare(cfg, vars, sizeof vars / sizeof vars[0]);
}

/* The liveness probes (probe.h): the real server for taskd, the loop's heartbeat otherwise. */
static int probe_server(void *ctx, int timeout_ms)
{
    struct supervisor *s = ctx;
    return probe_http(s->address, s->port, timeout_ms);
}

static int probe_heartbeat(void *ctx, int timeout_ms)
{
    (void)timeout_ms;
    struct supervisor *s = ctx;
    return heartbeat_check(&s->heartbeat);
}

static void status(void *ctx, const char *what)
{
    (void)ctx;
    notify_status(what);
}

static void serving(void *ctx, const struct lifecycle_serving *how)
{
    struct supervisor *s = ctx;
    char line[160];
    snprintf(s->program, sizeof s->program, "%s", how->program);
    snprintf(s->address, sizeof s->address, "%s", how->address ? how->address : "");
    s->port = how->port;
    /* LAB:BEGIN 5.2 READY=1 with a STATUS= of where it serves; then the watchdog, right probe. */
    if (s->port)
        snprintf(line, sizeof line, "%s serving on %s:%u", s->program, s->address, s->port);
    else
        snprintf(line, sizeof line, "%s working", s->program);
    notify_ready(line);
    if (s->watchdog_usec == 0)
        return;
    int rc =
        watchdog_start(s->watchdog_usec, s->port ? probe_server : probe_heartbeat, s, &s->watchdog);
    if (rc != 0)
        log_kv(LOG_ERROR, "cannot start the watchdog: systemd will restart this process",
               (struct log_kv[]){LOG_STR("error", err_str(rc))}, 1);
    else
        log_kv(LOG_INFO, "watchdog: pinging after each liveness probe",
               (struct log_kv[]){LOG_INT("interval_ms", (long long)(s->watchdog_usec / 1000)),
                                 LOG_STR("probe", s->port ? "GET /health" : "heartbeat")},
               2);
    /* LAB:END */
}

static int reload(void *ctx)
{
    struct supervisor *s = ctx;
    int rc = ERR_INTERNAL;
    char why[256] = "";
    /* LAB:BEGIN 5.4 RELOADING=1; read, check, swap only if valid (else log); READY=1 always. */
    notify_reloading("reloading the live settings");
    struct live_settings next;
    rc = live_settings_read(s->cfg, s->config_file, &next, why, sizeof why);
    if (rc == 0) {
        log_kv(LOG_INFO, "settings reloaded",
               (struct log_kv[]){LOG_STR("log_level", log_level_name(next.log_level))}, 1);
        live_settings_apply(&next);
    } else {
        log_kv(LOG_ERROR, "reload refused: the settings in use stay",
               (struct log_kv[]){LOG_STR("why", why)}, 1);
    }
    notify_ready(rc == 0 ? "serving; settings reloaded"
                         : "serving; the last reload was refused (see the log)");
    /* LAB:END */
    return rc;
}

static void stopping(void *ctx)
{
    struct supervisor *s = ctx;
    /* LAB:BEGIN 5.5 Stop the watchdog first, then STOPPING=1 with a STATUS= that it drains. */
    watchdog_stop(s->watchdog);
    s->watchdog = NULL;
    notify_stopping(s->port ? "stopping: draining the requests under way"
                            : "stopping: finishing the job in hand");
    /* LAB:END */
}

static void alive(void *ctx)
{
    struct supervisor *s = ctx;
    heartbeat_beat(&s->heartbeat);
}

static void close_supervisor(void *ctx)
{
    struct supervisor *s = ctx;
    watchdog_stop(s->watchdog);
    free(s);
}

static int open_supervisor(const struct config *cfg, struct lifecycle *out)
{
    struct supervisor *s = calloc(1, sizeof *s);
    if (!s)
        return ERR_NOMEM;
    s->cfg = cfg;
    /* Under systemd, stderr is journald: each line then carries its priority (decision 0025). */
    if (journal_is_stderr())
        log_set_priority_prefix(1);
    s->config_file = config_get(cfg, "TASKD_CONFIG_FILE");
    struct live_settings live;
    char why[256] = "";
    int rc = live_settings_read(cfg, s->config_file, &live, why, sizeof why);
    if (rc != 0) {
        log_kv(LOG_ERROR, "cannot read the live settings", (struct log_kv[]){LOG_STR("why", why)},
               1);
        free(s);
        return rc;
    }
    live_settings_apply(&live);
    s->watchdog_usec = notify_watchdog_usec();
    *out = (struct lifecycle){.ctx = s,
                              .status = status,
                              .serving = serving,
                              .reload = reload,
                              .stopping = stopping,
                              .alive = alive,
                              .close = close_supervisor};
    return 0;
}

const struct lifecycle_provider supervisor_systemd = {.declare = declare, .open = open_supervisor};
