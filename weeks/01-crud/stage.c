/* stage.c — stage 1: the task service on SQLite.
 *
 * A stage is a `struct stage` (shared/src/app.h) whose start() opens the stage's resources
 * (src/stage1.c) and serves them. Stage 2 calls the same typed functions (stage1.h) and then
 * adds its own; nothing here is copied forward. */
#include "app.h"
#include "docs_http.h"
#include "err.h"
#include "openapi_http.h"
#include "stage1.h"
#include "task_http.h"
#include "task_repo_factory.h"

int stage1_serve(struct app *app, struct stage1 *s)
{
    int rc = task_http_register(app, s->repo);
    if (rc == 0)
        rc = openapi_register(app);
    return rc != 0 ? rc : docs_register(app);
}

static void close_stage(void *s)
{
    stage1_close(s);
}

/* Stage 1 opens its store with week 1's backends only. */
static int start(struct app *app)
{
    struct stage1 *s = app_calloc(app, sizeof *s, close_stage);
    struct task_repo_factory *backends = NULL;
    int rc = s ? task_repo_factory_new(&backends) : ERR_NOMEM;
    if (rc == 0)
        rc = stage1_open(app_config(app), backends, s);
    task_repo_factory_free(backends);
    return rc != 0 ? rc : stage1_serve(app, s);
}

const struct stage stage_01 = {
    .name = "01-crud",
    .week = 1,
    .init = stage1_init,
    .declare = stage1_declare,
    .start = start,
};
