/* Lab copy of weeks/06-docker/src/supervisor_container.c (made by shared/scripts/labgen.sh): write your code here.
 * Each TODO(lab N.M) is one exercise; labs/06-docker/README.md explains them. */
/* supervisor_container.c — stage 6's lifecycle hooks: stage 5's, then the health file (see
 * supervisor_container.h). */
#include "supervisor_container.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "health_file.h"
#include "log.h"
#include "supervisor.h"
#include "timeutil.h"

/* The shortest time between two writes of alive. */
#define REFRESH_US 1000000

static const struct config_var vars[] = {
    {.name = "HEALTH_FILE",
     .kind = CONFIG_STRING,
     .min = 0,
     .max = HEALTH_FILE_PATH_MAX,
     .help = "file for a container healthcheck (taskd-probe file PATH MAX_AGE): \"serving "
             "PROGRAM UNIX_TIME\" once the program serves, rewritten at most once a second "
             "while taskd-worker's loop turns (taskd writes it once: probe taskd over HTTP), "
             "\"stopping ...\" from SIGTERM on; replaced atomically, so its directory must be "
             "writable; unset or empty = no file"},
};

struct container {
    struct lifecycle inner; /* stage 5's hooks, called first */
    const char *path;       /* HEALTH_FILE, or NULL: no file */
    char program[32];
    bool serving;          /* between serving and stopping: only then does alive write */
    int64_t last_write_us; /* clock_now_us() of the last write, done or failed */
    bool failing;          /* the last write failed (and was logged) */
};

static int declare(struct config *cfg)
{
    int rc = supervisor_systemd.declare(cfg);
    return rc != 0 ? rc : config_declare(cfg, vars, sizeof vars / sizeof vars[0]);
}

/* Writes the line; logs the first failure of a run of failures, and the recovery. */
static void write_state(struct container *c, const char *state)
{
    char why[HEALTH_FILE_PATH_MAX + 160] = "";
    int64_t now = clock_now_us();
    c->last_write_us = now;
    int rc = health_file_write(c->path, state, c->program, now / 1000000, why, sizeof why);
    if (rc != 0 && !c->failing)
        log_kv(LOG_ERROR, "cannot write the health file: the container's healthcheck will fail",
               (struct log_kv[]){LOG_STR("why", why), LOG_STR("health_file", c->path)}, 2);
    else if (rc == 0 && c->failing)
        log_kv(LOG_INFO, "the health file is written again",
               (struct log_kv[]){LOG_STR("health_file", c->path)}, 1);
    c->failing = rc != 0;
}

static void status(void *ctx, const char *what)
{
    struct container *c = ctx;
    lifecycle_status(&c->inner, what);
}

static void serving(void *ctx, const struct lifecycle_serving *how)
{
    struct container *c = ctx;
    lifecycle_serving(&c->inner, how);
    snprintf(c->program, sizeof c->program, "%s", how->program);
    c->serving = true;
    if (c->path)
        write_state(c, "serving");
}

static int reload(void *ctx)
{
    struct container *c = ctx;
    return lifecycle_reload(&c->inner);
}

static void stopping(void *ctx)
{
    struct container *c = ctx;
    c->serving = false;
    if (c->path)
        write_state(c, "stopping"); /* first: the check fails from now on */
    lifecycle_stopping(&c->inner);
}

static void alive(void *ctx)
{
    struct container *c = ctx;
    lifecycle_alive(&c->inner);
    if (!c->path || !c->serving)
        return;
    /* The wall clock (its seconds go into the file), which may be set back: a write older
     * than "now" is due at once, rather than in however long the clock jumped. */
    int64_t now = clock_now_us();
    if (now - c->last_write_us >= REFRESH_US || now < c->last_write_us)
        write_state(c, "serving");
}

static void close_container(void *ctx)
{
    struct container *c = ctx;
    lifecycle_close(&c->inner);
    free(c);
}

static int open_container(const struct config *cfg, struct lifecycle *out)
{
    struct container *c = calloc(1, sizeof *c);
    if (!c)
        return ERR_NOMEM;
    int rc = ERR_INTERNAL;
    /* TODO(lab 6.1): Wrap week 5's provider; take HEALTH_FILE; clear an old file; hand out hooks. */
    log_msg(LOG_ERROR, "lab 6.1: no container lifecycle yet"), (void)cfg, (void)out;
    if (rc != 0)
        free(c);
    return rc;
}

const struct lifecycle_provider supervisor_container = {.declare = declare, .open = open_container};
