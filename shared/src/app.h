/* app.h — what a stage wires itself into, and what a stage is.
 *
 * The shared main() builds an app (configuration, HTTP server), runs the stage's process-wide
 * initialisation, asks the stage to declare its configuration and then to start, serves until
 * SIGINT/SIGTERM, and stops everything in reverse order. Nothing in shared/ knows which weeks
 * exist: main.c only sees the one `struct stage` the build names (TASKD_STAGE).
 *
 * Stages chain by type, not by name. Stage N's start() calls typed functions of stage N−1
 * (weeks/NN/src/stageN.h: `stageN_open(cfg, &res)` fills a struct of what later stages may use),
 * then adds that week's routes and middleware. The app itself holds only what every stage needs
 * the same way: the configuration, the HTTP server, clean-up in reverse order, and the list of
 * readiness checks that GET /ready (week 2) reports. */
#ifndef TASKD_APP_H
#define TASKD_APP_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct http_server;
struct app;
struct lifecycle_provider;
struct observer_provider;

struct stage {
    const char *name; /* "01-crud" */
    int week;         /* 1..12: which rows of API.md this stage serves */
    /* The stage this one is built on (NULL for stage 1). main walks the chain for the hooks
     * below that are per stage rather than cumulative: init and commands. */
    const struct stage *prev;
    /* Optional: process-wide initialisation of this week's libraries (sodium_init...), run once
     * by main before anything else, oldest stage first, while there is still one thread. 0 or
     * an ERR_ code. */
    int (*init)(void);
    /* Declares the configuration the stage reads (it calls the previous stage's first). */
    int (*declare)(struct config *cfg);
    /* Builds the stage's resources and routes from the loaded configuration. 0 or an ERR_ code
     * (the stage logs why). */
    int (*start)(struct app *app);
    /* Optional: runs `taskd COMMAND ARGS...` (argv[0] is COMMAND) instead of serving, with the
     * configuration loaded. Returns the process exit status; ERR_NOT_FOUND for a command this
     * stage does not know (main then asks the previous stage). Week 2 adds `taskd migrate`. */
    int (*command)(struct config *cfg, int argc, char **argv);
    /* Optional: lines for `taskd --help` describing this stage's own commands. */
    const char *commands_help;
    /* Optional: how the programs of this stage tell their supervisor what they do
     * (lifecycle.h; week 5: systemd's readiness, watchdog and reload). Inherited: the newest
     * stage that has one is used (stage_lifecycle), by taskd's main and by the stage's other
     * programs alike. */
    const struct lifecycle_provider *lifecycle;
    /* Optional: what the stage makes of the reports of its background programs (observer.h;
     * week 9: counters on GET /metrics of their own port). Inherited like lifecycle. taskd's
     * main does not use it: its requests are counted inside its HTTP server. */
    const struct observer_provider *observer;
};

/* The lifecycle provider of the newest stage in newest's chain that has one, or NULL. */
const struct lifecycle_provider *stage_lifecycle(const struct stage *newest);
/* The observer provider of the newest stage in newest's chain that has one, or NULL. */
const struct observer_provider *stage_observer(const struct stage *newest);

struct config *app_config(struct app *app);
struct http_server *app_http(struct app *app);
int app_week(const struct app *app); /* the week of the stage being run */
/* The version the program was built from (shared/scripts/version.sh: git describe as a Debian
 * version), what `taskd --version` prints; week 8 also shows it on GET /health. */
const char *app_version(const struct app *app);

/* Registers fn(ctx) to run when the app stops, in reverse order of registration (so a resource
 * is released after everything registered later, which may use it). 0 or ERR_NOMEM; on
 * ERR_NOMEM fn(ctx) has already been called, so the caller never leaks. */
int app_defer(struct app *app, void (*fn)(void *ctx), void *ctx);

/* Zeroed memory of size bytes that the app owns: when the app stops, close(ptr) runs (if not
 * NULL) and the memory is freed, in the same newest-first order as app_defer. Where a stage keeps
 * its resources struct. NULL when out of memory (close is then not called). */
void *app_calloc(struct app *app, size_t size, void (*close)(void *ptr));

/* ---- readiness: what GET /ready asks ---- */

/* check(ctx) returns 0 when the dependency answers. A required check that fails makes the
 * instance not ready (503); an optional one (a cache) is reported but never a reason for 503. */
struct app_check {
    const char *name; /* "database", "redis"...: the key in /ready's "checks" */
    bool required;
    int (*check)(void *ctx);
    void *ctx;
};

/* Adds a check (copied; name must outlive the app). Call before serving. 0, ERR_CONFLICT (the
 * name is taken) or ERR_NOMEM (the table of APP_CHECKS_MAX is full). */
#define APP_CHECKS_MAX 16
int app_add_check(struct app *app, const struct app_check *c);
/* The checks in the order added; *n gets the count. Read-only after start. */
const struct app_check *app_checks(const struct app *app, size_t *n);

/* For main.c: the app's own lifecycle. app_free runs the deferred functions, newest first. */
/* version must outlive the app (main passes the build's string literal). */
struct app *app_new(struct config *cfg, struct http_server *http, int week, const char *version);
void app_free(struct app *app);

#endif
