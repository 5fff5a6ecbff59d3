/* taskd-worker.c — main() of the background worker of stage 3.
 *
 * The second process of the service: where taskd answers HTTP and only records that work is
 * wanted (a job row, an id pushed to Redis), taskd-worker does the work (worker.h). Run one or
 * several beside taskd, against the same DATABASE_URL and REDIS_URL. This file is only the
 * wiring: settings from the environment (stage 3's own, declared and opened by the same
 * functions taskd uses — stage3.h — plus the worker's), the signals, and the loop.
 *
 * Like taskd's main, it is compiled once per stage (TASKD_STAGE names it) and asks that stage
 * for its lifecycle hooks (lifecycle.h): a stage that has a supervisor to tell (week 5:
 * systemd) hears when the worker is ready, that its loop still turns, that a SIGHUP asked for
 * a reload, and that it is stopping. Without one the calls do nothing, and SIGHUP only logs.
 *
 * Exit status: 0 after a stop signal with the job in hand finished; 1 when a second signal
 * gave the job in hand back to the queue unfinished, or when start-up failed (out of memory, a
 * schema older than this binary); 2 for a bad configuration. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "config.h"
#include "err.h"
#include "lifecycle.h"
#include "log.h"
#include "log_config.h"
#include "mailer.h"
#include "observer.h"
#include "pg_pool.h"
#include "stage3.h"
#include "worker.h"

#ifndef TASKD_STAGE
#error "build with -DTASKD_STAGE=stage_NN (the Makefile does)"
#endif
extern const struct stage TASKD_STAGE;

/* The worker's own settings; stage 3's (DATABASE_URL, REDIS_URL, QUEUE_PREFIX, the pools...)
 * come from stage3_declare, exactly as taskd declares them. */
static const struct config_var vars[] = {
    {.name = "JOB_MAX_ATTEMPTS",
     .kind = CONFIG_INT,
     .default_value = "5",
     .min = 1,
     .max = 100,
     .help = "attempts before a job is failed for good (a job's own limit may be lower)"},
    {.name = "JOB_BACKOFF_MS",
     .kind = CONFIG_INT,
     .default_value = "1000",
     .min = 0,
     .max = 300000,
     .help = "retry n waits a random [d/2, d], d = this * 2^(n-1), at most 5 minutes"},
    {.name = "SMTP_URL",
     .kind = CONFIG_STRING,
     .min = 8,
     .max = 1024,
     .secret = true,
     .help = "mail server for reminders: smtp://HOST:PORT (smtps:// for TLS); unset = no mail"},
    {.name = "SMTP_FROM",
     .kind = CONFIG_STRING,
     .default_value = "taskd@localhost",
     .min = 3,
     .max = 254,
     .help = "sender address of the reminder e-mails"},
    {.name = "NOTIFY_EMAIL",
     .kind = CONFIG_STRING,
     .min = 3,
     .max = 254,
     .help = "where reminder e-mails go (needs SMTP_URL); unset = no reminders"},
    {.name = "REMINDER_LEAD_SECONDS",
     .kind = CONFIG_INT,
     .default_value = "3600",
     .min = 0,
     .max = 30 * 86400,
     .help = "how long before a task's due date its reminder is sent"},
    {.name = "REMINDER_SCAN_SECONDS",
     .kind = CONFIG_INT,
     .default_value = "10",
     .min = 1,
     .max = 3600,
     .help = "how often the tasks table is scanned for reminders to plan"},
    {.name = "FAULT_FAIL_EXPORT_ATTEMPTS",
     .kind = CONFIG_INT,
     .default_value = "0",
     .min = 0,
     .max = 100,
     .help = "fault injection: the first N attempts of every export fail (\"injected failure\")"},
    {.name = "FAULT_EXPORT_DELAY_MS",
     .kind = CONFIG_INT,
     .default_value = "0",
     .min = 0,
     .max = 600000,
     .help = "fault injection: every export sleeps this long before it finishes"},
};

/* How many stop signals have arrived: the handler only counts, the loop decides. */
static volatile sig_atomic_t stop_signals;

static void on_stop_signal(int sig)
{
    (void)sig;
    if (stop_signals < 2)
        stop_signals++;
}

/* SIGHUP: a reload was asked for; the loop's tick does it, on the worker's own thread. */
static volatile sig_atomic_t reload_requests;

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
    /* SA_RESTART: a read interrupted by the signal is resumed rather than failed, so libpq and
     * hiredis never see EINTR as an error. The loop notices the flag within half a second. */
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return ERR_INTERNAL;
    sa.sa_handler = on_reload_signal;
    if (sigaction(SIGHUP, &sa, NULL) != 0)
        return ERR_INTERNAL;
    signal(SIGPIPE, SIG_IGN); /* a server closing on us is an error return, not a death */
    return 0;
}

static void usage(const struct config *cfg, FILE *out)
{
    fprintf(out,
            "usage: taskd-worker [--help]\n\n"
            "The background worker of taskd (stage 3): runs export and reminder jobs from the\n"
            "Redis queue until SIGTERM or SIGINT. The first signal stops claiming and lets the\n"
            "job in hand finish (exit 0); a second one gives that job back to the queue and\n"
            "exits at once (exit 1). SIGHUP reloads the settings the stage lets change live.\n"
            "Exit 2: bad configuration.\n\n"
            "Configuration comes from the environment:\n\n");
    config_print_help(cfg, out);
}

static bool has_prefix(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Rules that span settings, or that config.h cannot express. Never prints a secret's value. */
static int check_settings(const struct config *cfg)
{
    int rc = 0;
    if (!stage2_is_postgres_url(config_get(cfg, "DATABASE_URL"))) {
        fprintf(stderr, "DATABASE_URL: must be postgres://USER:PASSWORD@HOST:PORT/DB (the worker "
                        "shares taskd's PostgreSQL database)\n");
        rc = ERR_INVALID;
    }
    if (!has_prefix(config_get(cfg, "REDIS_URL"), "redis://")) {
        fprintf(stderr, "REDIS_URL: must be redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]\n");
        rc = ERR_INVALID;
    }
    const char *smtp = config_get(cfg, "SMTP_URL");
    if (smtp && !has_prefix(smtp, "smtp://") && !has_prefix(smtp, "smtps://")) {
        fprintf(stderr, "SMTP_URL: must be smtp://HOST:PORT or smtps://HOST:PORT\n");
        rc = ERR_INVALID;
    }
    const char *from = config_get(cfg, "SMTP_FROM");
    if (!mailer_address_valid(from)) {
        fprintf(stderr, "SMTP_FROM=%s: must be a plain address like taskd@example.com\n", from);
        rc = ERR_INVALID;
    }
    const char *notify = config_get(cfg, "NOTIFY_EMAIL");
    if (notify && !mailer_address_valid(notify)) {
        fprintf(stderr, "NOTIFY_EMAIL=%s: must be a plain address like you@example.com\n", notify);
        rc = ERR_INVALID;
    }
    if (notify && !smtp) {
        fprintf(stderr, "NOTIFY_EMAIL is set but SMTP_URL is not: reminders need a mail server\n");
        rc = ERR_INVALID;
    }
    return rc;
}

/* What the loop's tick needs: the supervisor's hooks, and whether it has heard "stopping". */
struct supervision {
    const struct lifecycle *lc;
    bool stopping_told;
};

static void tell_stopping(struct supervision *sv)
{
    if (!sv->stopping_told)
        lifecycle_stopping(sv->lc);
    sv->stopping_told = true;
}

/* Runs on the worker's thread every turn of its loop (worker_options.tick): that the loop turns
 * is the sign of life; a reload asked for by SIGHUP and the first stop signal are passed on. */
static void tick(void *ctx)
{
    struct supervision *sv = ctx;
    lifecycle_alive(sv->lc);
    if (reload_requests) {
        reload_requests = 0;
        log_msg(LOG_INFO, "reloading (SIGHUP)");
        if (lifecycle_reload(sv->lc) == ERR_NOT_FOUND)
            log_msg(LOG_INFO, "SIGHUP: this stage has no settings that change live");
    }
    if (stop_signals > 0)
        tell_stopping(sv);
}

/* Every bad setting is reported before anything starts: 0, or the exit status (2). */
static int load_settings(struct config *cfg)
{
    if (config_load(cfg, stderr) != 0 || check_settings(cfg) != 0) {
        fprintf(stderr, "taskd-worker: fix the configuration above (see taskd-worker --help)\n");
        return 2;
    }
    log_config_apply(cfg);
    return 0;
}

int main(int argc, char **argv)
{
    int rc = 1;
    bool started = false, curl_ready = false, opened = false;
    char worker_id[300] = "";
    struct config *cfg = NULL;
    struct stage3 res = {0};
    struct worker *w = NULL;
    struct lifecycle lc = {0};
    struct supervision sv = {.lc = &lc};
    struct observer obs = {0};
    const struct lifecycle_provider *provider = stage_lifecycle(&TASKD_STAGE);
    /* Who counts the jobs' outcomes (observer.h), when the stage has someone: NULL before. */
    const struct observer_provider *observing = stage_observer(&TASKD_STAGE);

    if (install_signals() != 0) {
        fprintf(stderr, "taskd-worker: cannot install signal handlers\n");
        return 1;
    }
    cfg = config_new();
    if (!cfg || log_config_declare(cfg) != 0 || stage3_declare(cfg) != 0 ||
        config_declare(cfg, vars, sizeof vars / sizeof vars[0]) != 0 ||
        (provider && provider->declare && provider->declare(cfg) != 0) ||
        (observing && observing->declare && observing->declare(cfg) != 0)) {
        fprintf(stderr, "taskd-worker: out of memory\n");
        goto done;
    }
    if (config_help_requested(argc, argv)) {
        usage(cfg, stdout);
        rc = 0;
        goto done;
    }
    if (argc > 1) {
        fprintf(stderr, "taskd-worker: unexpected argument '%s' (try --help)\n", argv[1]);
        rc = 2;
        goto done;
    }
    if ((rc = load_settings(cfg)) != 0)
        goto done;
    if (provider && provider->open(cfg, &lc) != 0) {
        fprintf(stderr, "taskd-worker: fix the configuration above (see taskd-worker --help)\n");
        rc = 2;
        goto done;
    }
    /* Opened before PostgreSQL is waited for: a worker that waits is still seen to be up. */
    if (observing && observing->open(cfg, "taskd-worker", &obs) != 0) {
        rc = 1;
        goto done;
    }
    rc = 1;
    /* The process-wide initialisation taskd's main does through the stage's init hook, plus
     * libcurl's for the mailer: once, before any thread. */
    if (stage1_init() != 0 || mailer_global_init() != 0) {
        log_msg(LOG_ERROR, "cannot initialise libsodium or libcurl");
        goto done;
    }
    curl_ready = true;
    lifecycle_status(&lc, "starting: waiting for PostgreSQL");
    /* A worker started before its database is not a failure, just early. */
    if (pg_wait_ready(config_get(cfg, "DATABASE_URL"), &stop_signals) != 0) {
        rc = 0; /* stopped while waiting: nothing was started, nothing is lost */
        goto done;
    }
    /* The same resources as taskd's, opened by the same function: the store, the queue under
     * this database's namespace, the jobs pool. It refuses a schema older than this binary. */
    int orc = stage3_open(cfg, &res);
    opened = true;
    if (orc != 0) {
        log_kv(LOG_ERROR, "cannot open stage 3's resources (see above)",
               (struct log_kv[]){LOG_STR("error", err_str(orc))}, 1);
        rc = orc == ERR_INVALID ? 2 : 1;
        goto done;
    }

    char host[256] = "localhost";
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    snprintf(worker_id, sizeof worker_id, "%s:%ld", host, (long)getpid());
    int visibility = (int)config_get_int(cfg, "WORKER_VISIBILITY_SECONDS");
    struct worker_options wo = {
        .worker_id = worker_id,
        .visibility_s = visibility,
        .max_attempts = (int)config_get_int(cfg, "JOB_MAX_ATTEMPTS"),
        .backoff_base_ms = (int)config_get_int(cfg, "JOB_BACKOFF_MS"),
        .fault_fail_export_attempts = (int)config_get_int(cfg, "FAULT_FAIL_EXPORT_ATTEMPTS"),
        .fault_export_delay_ms = (int)config_get_int(cfg, "FAULT_EXPORT_DELAY_MS"),
        .notify_email = config_get(cfg, "NOTIFY_EMAIL"),
        .reminder_lead_s = (int)config_get_int(cfg, "REMINDER_LEAD_SECONDS"),
        .reminder_scan_s = (int)config_get_int(cfg, "REMINDER_SCAN_SECONDS"),
        .mail = {.smtp_url = config_get(cfg, "SMTP_URL"), .from = config_get(cfg, "SMTP_FROM")},
        .stop_signals = &stop_signals,
        .tick = tick,
        .tick_ctx = &sv,
        .observer = &obs,
    };
    if (worker_new(&wo, res.jobs_pool, res.s2.s1.repo, res.queue, &w) != 0) {
        log_msg(LOG_ERROR, "out of memory at start-up");
        goto done;
    }
    struct log_kv kv[] = {LOG_STR("worker", worker_id), LOG_STR("queue_prefix", res.prefix),
                          LOG_INT("visibility_s", visibility),
                          LOG_STR("reminders", wo.notify_email ? "on" : "off")};
    log_kv(LOG_INFO, "worker started", kv, 4);
    started = true;
    /* Ready now: the resources are open and the next thing the worker does is claim a job. */
    lifecycle_serving(&lc, &(struct lifecycle_serving){.program = "taskd-worker"});

    bool interrupted = false;
    rc = worker_run(w, &interrupted) == 0 && !interrupted ? 0 : 1;
    tell_stopping(&sv); /* also when the signal came while the loop waited for a job */
done:
    worker_free(w);
    if (opened)
        stage3_close(&res);
    if (curl_ready)
        mailer_global_cleanup();
    observer_close(&obs);
    lifecycle_close(&lc);
    config_free(cfg);
    if (started)
        log_kv(rc == 0 ? LOG_INFO : LOG_WARN,
               rc == 0 ? "stopped" : "stopped at once: the job in hand went back to the queue",
               (struct log_kv[]){LOG_STR("worker", worker_id)}, 1);
    return rc;
}
