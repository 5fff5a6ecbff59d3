/* lifecycle.h — what a running program tells whoever supervises it.
 *
 * Every program of the service (taskd, taskd-worker) lives through the same moments: it starts,
 * it serves, it may be asked to reload its settings (SIGHUP), it stops (SIGTERM). A supervisor
 * wants to hear about them: "ready" only once the program really serves, "stopping" while it
 * drains, and a regular sign of life while it works. The core sees the moments; a stage knows
 * the supervisor (week 5: systemd's notify protocol). So a stage may offer a lifecycle_provider
 * (its `struct stage`, app.h), and each program calls the hooks at the moments only it can see:
 * taskd's main once it listens and its stage has started, the worker once its loop turns.
 *
 * Every hook is optional and every call below is safe on a lifecycle without hooks (stages
 * 1-4 have no provider): a program never needs to know whether anyone listens. */
#ifndef TASKD_LIFECYCLE_H
#define TASKD_LIFECYCLE_H

struct config;

/* How the program serves, for the "ready" message and the liveness check. */
struct lifecycle_serving {
    const char *program; /* "taskd", "taskd-worker" */
    /* taskd: the address and port it listens on, so the supervisor's liveness check can ask
     * the real server; NULL and 0 for a program without HTTP (it calls lifecycle_alive). */
    const char *address;
    unsigned port;
};

struct lifecycle {
    void *ctx;
    /* A line that says what the program is doing now ("waiting for PostgreSQL"). */
    void (*status)(void *ctx, const char *what);
    /* The program now does its work: listening AND its stage started (taskd), its loop
     * claiming jobs (the worker). Called once. */
    void (*serving)(void *ctx, const struct lifecycle_serving *how);
    /* SIGHUP: re-read and apply the settings that may change live. 0, or an ERR_ code when the
     * new settings were refused (the old ones stay; the hook logged why). */
    int (*reload)(void *ctx);
    /* A stop signal came: the program drains and exits. */
    void (*stopping)(void *ctx);
    /* The program's own loop went round (the worker calls it every turn): a sign of life that
     * a timer alone could not give. */
    void (*alive)(void *ctx);
    /* Releases ctx; called once, last. */
    void (*close)(void *ctx);
};

/* What a stage offers: declare adds its settings to cfg (before config_load); open makes the
 * hooks from the loaded settings (0, or an ERR_ code: the program then does not start). */
struct lifecycle_provider {
    int (*declare)(struct config *cfg);
    int (*open)(const struct config *cfg, struct lifecycle *out);
};

/* The calls programs make: each does nothing when its hook is missing. */
void lifecycle_status(const struct lifecycle *lc, const char *what);
void lifecycle_serving(const struct lifecycle *lc, const struct lifecycle_serving *how);
/* ERR_NOT_FOUND when nothing can be reloaded (no hook). */
int lifecycle_reload(const struct lifecycle *lc);
void lifecycle_stopping(const struct lifecycle *lc);
void lifecycle_alive(const struct lifecycle *lc);
/* Runs close and empties *lc (a second call does nothing). */
void lifecycle_close(struct lifecycle *lc);

#endif
