/* event_program.h — what week 7's programs share around their loop: settings, signals, the
 * supervisor, the database's schema.
 *
 * taskd-relay, taskd-notifier and taskd-projector are each a loop over the database and the
 * bus. Everything around the loop is the same for the three and lives here once: the settings
 * (log, stage 2's database and pools, the bus, the program's own) with --help and a bad setting
 * reported before anything starts (exit 2); SIGTERM/SIGINT set a stop flag the loop checks;
 * SIGHUP is passed to the stage's lifecycle provider; the supervisor (week 5's systemd, week
 * 6's health file) hears "starting", "serving", that the loop turns, and "stopping"; the program
 * waits for PostgreSQL instead of failing when started first, and refuses a schema older than
 * the binary. Only what the program opens and runs is its own (`open`, `run`). */
#ifndef TASKD_EVENT_PROGRAM_H
#define TASKD_EVENT_PROGRAM_H

#include <stddef.h>

struct config;
struct config_var;
struct lifecycle;
struct lifecycle_provider;
struct observer;
struct observer_provider;

struct event_program {
    const char *name;              /* "taskd-relay" */
    const char *summary;           /* the --help text before the settings */
    const struct config_var *vars; /* the program's own settings */
    size_t nvars;
    const struct config_var
        *more_vars; /* a second list (a family's, then a member's); may be NULL */
    size_t nmore;
    void *ctx; /* handed to the hooks below as is */
    /* Cross-setting rules config.h cannot express; prints why to stderr. 0 or ERR_INVALID. May
     * be NULL. */
    int (*check)(void *ctx, const struct config *cfg);
    /* Process-wide initialisation of a library of the program's own (libcurl), once, before
     * anything starts; fini undoes it at the end. Both may be NULL. 0 or an ERR_ code. */
    int (*init)(void *ctx);
    void (*fini)(void *ctx);
    /* Runs the loop until *stop; calls event_program_tick(lc) every turn and lifecycle_serving
     * once its resources are open, and reports its work to obs (observer.h; never NULL, it may
     * have no hooks). Returns the exit status (0 after a clean stop). */
    int (*run)(void *ctx, const struct config *cfg, const struct lifecycle *lc,
               const struct observer *obs, volatile int *stop);
};

/* main() of a week-7 program; provider is its stage's lifecycle provider and observing its
 * observer provider (stage_lifecycle and stage_observer of the binary's TASKD_STAGE, asked in
 * bin/: src/ does not see app.h), NULL for none. Returns the exit status. */
int event_program_main(const struct event_program *p, const struct lifecycle_provider *provider,
                       const struct observer_provider *observing, int argc, char **argv);

/* What the loop calls each turn: tells the supervisor the loop turns, and passes on a reload
 * asked for by SIGHUP. */
void event_program_tick(const struct lifecycle *lc);

#endif
