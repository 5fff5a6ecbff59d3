/* consumer_main.h — the program around the consumer loop, shared by taskd-notifier and
 * taskd-projector.
 *
 * Both programs are the same process with a different handler (consumer.h): settings from the
 * environment, the signals, the lifecycle hooks of the stage (lifecycle.h), a PostgreSQL pool
 * for processed_events and the handler, the bus consumer in its group, the loop, periodic
 * stats. Each bin/ file is a thin main() that describes its program with a consumer_program
 * and calls consumer_main, so the skeleton is written once. A program opens only what it
 * needs: no task store, no cache, no HTTP.
 *
 * Exit status: 0 after SIGTERM or SIGINT (the message in hand is finished first, or left
 * uncommitted for redelivery when it was waiting out a backoff); 1 when start-up failed (the
 * database schema is older than this binary, out of memory, the broker refused); 2 for a bad
 * configuration. */
#ifndef TASKD_CONSUMER_MAIN_H
#define TASKD_CONSUMER_MAIN_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct config_var;
struct consumer_handler;
struct pg_pool;
struct lifecycle_provider;
struct observer_provider;

struct consumer_program {
    const char *name;              /* "taskd-notifier": usage, logs */
    const char *group;             /* CONSUMER_GROUP's default and the processed_events name */
    const char *about;             /* --help's paragraph: what the program does */
    const struct config_var *vars; /* the program's own settings (may be NULL) */
    size_t nvars;
    bool needs_curl; /* mailer_global_init before anything starts */
    /* Rules that span settings; prints what is wrong to stderr. 0 or ERR_INVALID. May be NULL. */
    int (*check)(const struct config *cfg);
    /* Makes the handler from the loaded settings and the open pool (borrowed); *state is given
     * back to close. 0 or an ERR_ code. */
    int (*open)(const struct config *cfg, struct pg_pool *pool, const char *name,
                struct consumer_handler *h, void **state);
    void (*close)(void *state); /* may be NULL */
};

/* Runs the program; returns its exit status. provider and observing: the binary's stage's
 * lifecycle and observer providers (stage_lifecycle and stage_observer of &TASKD_STAGE, asked
 * in bin/), NULL for none. The observer hears the consumer's counts (consumer_stats) as
 * differences, at every tick and once more when it stops. */
int consumer_main(const struct lifecycle_provider *provider,
                  const struct observer_provider *observing, const struct consumer_program *p,
                  int argc, char **argv);

#endif
