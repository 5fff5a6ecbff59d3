/* event_program.c — the frame around week 7's loops (event_program.h). */
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "event_bus.h"
#include "event_program.h"
#include "lifecycle.h"
#include "log.h"
#include "log_config.h"
#include "observer.h"
#include "pg_pool.h"
#include "stage2.h"

/* Set by the stop signals; the loop checks it between turns. An int, not sig_atomic_t, because
 * the loops take `volatile int *`; a store of an int is atomic on every platform we build for. */
static volatile int stop_flag;
static volatile sig_atomic_t reload_requests;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
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
    sa.sa_flags = SA_RESTART; /* libpq and the brokers' clients never see EINTR as an error */
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return ERR_INTERNAL;
    sa.sa_handler = on_reload_signal;
    if (sigaction(SIGHUP, &sa, NULL) != 0)
        return ERR_INTERNAL;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

void event_program_tick(const struct lifecycle *lc)
{
    lifecycle_alive(lc);
    if (reload_requests) {
        reload_requests = 0;
        log_msg(LOG_INFO, "reloading (SIGHUP)");
        if (lifecycle_reload(lc) == ERR_NOT_FOUND)
            log_msg(LOG_INFO, "SIGHUP: this stage has no settings that change live");
    }
}

/* Every bad setting is reported before anything starts. */
static int load_settings(const struct event_program *p, struct config *cfg)
{
    int rc = config_load(cfg, stderr);
    if (rc == 0 && !stage2_is_postgres_url(config_get(cfg, "DATABASE_URL"))) {
        fprintf(stderr, "DATABASE_URL: must be postgres://USER:PASSWORD@HOST:PORT/DB (the "
                        "outbox and the read models are in taskd's PostgreSQL database)\n");
        rc = ERR_INVALID;
    }
    struct event_bus_settings bus;
    if (rc == 0)
        rc = event_bus_settings_read(cfg, &bus);
    if (rc == 0 && p->check)
        rc = p->check(p->ctx, cfg);
    if (rc != 0) {
        fprintf(stderr, "%s: fix the configuration above (see %s --help)\n", p->name, p->name);
        return 2;
    }
    log_config_apply(cfg);
    return 0;
}

int event_program_main(const struct event_program *p, const struct lifecycle_provider *provider,
                       const struct observer_provider *observing, int argc, char **argv)
{
    int rc = 1;
    bool initialised = false;
    struct lifecycle lc = {0};
    struct observer obs = {0};
    struct config *cfg = config_new();
    if (install_signals() != 0 || !cfg || log_config_declare(cfg) != 0 ||
        stage2_declare(cfg) != 0 || event_bus_declare(cfg) != 0 ||
        config_declare(cfg, p->vars, p->nvars) != 0 ||
        (p->more_vars && config_declare(cfg, p->more_vars, p->nmore) != 0) ||
        (provider && provider->declare && provider->declare(cfg) != 0) ||
        (observing && observing->declare && observing->declare(cfg) != 0)) {
        fprintf(stderr, "%s: cannot start (out of memory or signals)\n", p->name);
        goto done;
    }
    if (config_help_requested(argc, argv)) {
        printf("usage: %s [--help]\n\n%s\n\nConfiguration comes from the environment:\n\n", p->name,
               p->summary);
        config_print_help(cfg, stdout);
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
    /* Opened before PostgreSQL is waited for: a program that waits is still seen to be up. */
    if (observing && observing->open(cfg, p->name, &obs) != 0)
        goto done;
    if (stage1_init() != 0 || (p->init && p->init(p->ctx) != 0)) {
        log_msg(LOG_ERROR, "cannot initialise the program's libraries");
        goto done;
    }
    initialised = true;
    lifecycle_status(&lc, "starting: waiting for PostgreSQL");
    /* A program started before its database waits instead of failing. */
    if (pg_wait_ready(config_get(cfg, "DATABASE_URL"), &stop_flag) != 0) {
        rc = 0; /* stopped while waiting: nothing was started */
        goto done;
    }
    int src = stage2_schema_ready(cfg);
    if (src != 0) {
        rc = src == ERR_UNAVAILABLE ? 1 : 2;
        goto done;
    }
    rc = p->run(p->ctx, cfg, &lc, &obs, &stop_flag);
    lifecycle_stopping(&lc);
done:
    if (initialised && p->fini)
        p->fini(p->ctx);
    observer_close(&obs);
    lifecycle_close(&lc);
    config_free(cfg);
    return rc;
}
