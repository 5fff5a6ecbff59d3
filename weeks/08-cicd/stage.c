/* stage.c — stage 8: the service delivered by a pipeline.
 *
 * Stage 8 is stage 7 plus the machinery around it, most of which is not C: the pipelines
 * (.github/workflows/ci.yml, .gitlab-ci.yml, every job `ci/job.sh NAME`), versioned releases
 * (release/: the .deb, the images, the notes), blue/green deploys with rollback to the week-5
 * server (deploy/), and podman auto-update (autoupdate/). In the program itself, GET /health
 * tells which release answers (src/release_http.c), the same version `taskd --version` prints;
 * `make slots` shows what each blue/green slot answers. */
#include "app.h"
#include "err.h"
#include "release_http.h"
#include "stage8.h"

extern const struct stage stage_07;

int stage8_serve(struct app *app, struct stage8 *s)
{
    int rc = stage7_serve(app, &s->s7);
    return rc != 0 ? rc : release_http_register(app);
}

static void close_stage(void *s)
{
    stage8_close(s);
}

static int start(struct app *app)
{
    struct stage8 *s = app_calloc(app, sizeof *s, close_stage);
    int rc = s ? stage8_open(app_config(app), s) : ERR_NOMEM;
    return rc != 0 ? rc : stage8_serve(app, s);
}

const struct stage stage_08 = {
    .name = "08-cicd",
    .week = 8,
    .prev = &stage_07,
    .declare = stage8_declare,
    .start = start,
};
