/* stage.c — stage 6: the service in containers.
 *
 * Stage 6 is stage 5 plus what a container engine needs from the programs: a healthcheck it
 * can run inside the container. taskd is checked over HTTP (GET /health: the process answers;
 * GET /ready: it can serve, 503 while PostgreSQL is down); taskd-worker has no port, so with
 * HEALTH_FILE set it writes a file each time its loop turns, at most once a second, and
 * "stopping" on SIGTERM (src/supervisor_container.c, src/health_file.c). taskd-probe
 * (bin/taskd-probe.c) is the command that asks either, in an image without curl or a shell. The
 * lifecycle provider wraps stage 5's, so the same binaries still talk to systemd; without
 * HEALTH_FILE nothing changes for `make run` and the earlier suites. The routes do not change.
 * The images and the compose stack are in compose/. */
#include "app.h"
#include "err.h"
#include "stage6.h"
#include "supervisor_container.h"

extern const struct stage stage_05;

int stage6_serve(struct app *app, struct stage6 *s)
{
    return stage5_serve(app, &s->s5);
}

static void close_stage(void *s)
{
    stage6_close(s);
}

static int start(struct app *app)
{
    struct stage6 *s = app_calloc(app, sizeof *s, close_stage);
    int rc = s ? stage6_open(app_config(app), s) : ERR_NOMEM;
    return rc != 0 ? rc : stage6_serve(app, s);
}

const struct stage stage_06 = {
    .name = "06-docker",
    .week = 6,
    .prev = &stage_05,
    .declare = stage6_declare,
    .start = start,
    .lifecycle = &supervisor_container,
};
