/* app.h — what a stage wires itself into, and what a stage is.
 *
 * The shared main() builds an app (configuration, HTTP server), asks the stage it was built with
 * to declare its configuration and then to start, runs until SIGINT/SIGTERM, and stops
 * everything in reverse order. A stage is a pair of functions; stage N's functions call stage
 * N−1's and then add that week's routes, middleware and resources. Nothing in shared/ knows
 * which weeks exist: main.c only sees the one `struct stage` the Makefile names (TASKD_STAGE). */
#ifndef TASKD_APP_H
#define TASKD_APP_H

struct config;
struct http_server;
struct app;

struct stage {
    const char *name; /* "01-crud" */
    int week;         /* 1..12: which rows of API.md this stage serves */
    /* Declares the configuration the stage reads. 0 or an ERR_ code. */
    int (*declare)(struct config *cfg);
    /* Builds the stage's resources and routes from the loaded configuration. 0 or an ERR_ code
     * (the stage logs why). */
    int (*start)(struct app *app);
    /* Optional: runs `taskd COMMAND ARGS...` (argv[0] is COMMAND) instead of serving, with the
     * configuration loaded. Returns the process exit status; ERR_NOT_FOUND for a command the
     * stage does not know. Week 2 adds `taskd migrate`. */
    int (*command)(struct config *cfg, int argc, char **argv);
    /* Optional: lines for `taskd --help` describing the commands. */
    const char *commands_help;
};

struct config *app_config(struct app *app);
struct http_server *app_http(struct app *app);
int app_week(const struct app *app); /* the week of the stage being run */

/* Registers fn(ctx) to run when the app stops, in reverse order of registration (so a resource
 * is released after everything registered later, which may use it). 0 or ERR_NOMEM; on
 * ERR_NOMEM fn(ctx) has already been called, so the caller never leaks. */
int app_defer(struct app *app, void (*fn)(void *ctx), void *ctx);

/* Resources a stage shares with the stages built on it, by name ("task_repo"): stage 1 opens the
 * repository, stage 2 checks it in /ready. The app does not own them (use app_defer for that).
 * 0, ERR_NOMEM (the table of 16 is full) or ERR_CONFLICT (the name is taken). */
int app_set_service(struct app *app, const char *name, void *ptr);
/* The resource registered under name, or NULL. */
void *app_service(struct app *app, const char *name);

/* For main.c: the app's own lifecycle. app_free runs the deferred functions, newest first. */
struct app *app_new(struct config *cfg, struct http_server *http, int week);
void app_free(struct app *app);

#endif
