/* stage.c — stage 5: the service on Linux, under systemd.
 *
 * Stage 5 is stage 4 plus its lifecycle (src/supervisor.c): taskd and taskd-worker tell systemd
 * when they are ready (Type=notify: READY=1 once they really serve), prove they are alive to
 * its watchdog (WATCHDOG=1 only after a liveness probe), reload their live settings on SIGHUP
 * (RELOADING=1 ... READY=1) and say when they stop (STOPPING=1) while they drain. The routes do
 * not change. The core's main and week 3's worker call the hooks at the right moments; this
 * file only names the provider, so no earlier week knows about systemd. */
#include "app.h"
#include "err.h"
#include "stage5.h"
#include "supervisor.h"

extern const struct stage stage_04;

int stage5_serve(struct app *app, struct stage5 *s)
{
    return stage4_serve(app, &s->s4);
}

static void close_stage(void *s)
{
    stage5_close(s);
}

static int start(struct app *app)
{
    struct stage5 *s = app_calloc(app, sizeof *s, close_stage);
    int rc = s ? stage5_open(app_config(app), s) : ERR_NOMEM;
    return rc != 0 ? rc : stage5_serve(app, s);
}

const struct stage stage_05 = {
    .name = "05-linux",
    .week = 5,
    .prev = &stage_04,
    .declare = stage5_declare,
    .start = start,
    .lifecycle = &supervisor_systemd,
};
