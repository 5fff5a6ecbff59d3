/* stage.c — stage 1: the task service on SQLite.
 *
 * A stage is two functions (see shared/src/app.h). Stage 1 declares DATABASE_URL, opens the
 * repository it names through the factory, and adds the routes of API.md's week-1 rows. Stage 2
 * will call these same functions and then add its own; nothing here is copied forward. */
#include "app.h"
#include "config.h"
#include "err.h"
#include "log.h"
#include "openapi_http.h"
#include "task_http.h"
#include "task_repo.h"
#include "task_repo_factory.h"

static const struct config_var vars[] = {
    {.name = "DATABASE_URL",
     .kind = CONFIG_STRING,
     .default_value = "sqlite:taskd.db",
     .min = 1,
     .max = 4096,
     .help = "where tasks are stored: sqlite:PATH or memory:"},
};

static int declare(struct config *cfg)
{
    return config_declare(cfg, vars, sizeof vars / sizeof vars[0]);
}

static void repo_free(void *repo)
{
    task_repo_free(repo);
}

static int start(struct app *app)
{
    int rc = task_repo_register_builtin();
    if (rc != 0)
        return rc;
    struct task_repo *repo = NULL;
    rc = task_repo_open(config_get(app_config(app), "DATABASE_URL"), &repo);
    if (rc != 0)
        return rc; /* the factory has logged why */
    const struct task_repo_wrapper *w = app_service(app, "task_repo_wrapper");
    if (w && (rc = w->wrap(w->ctx, repo, &repo)) != 0)
        return rc; /* wrap has freed the store */
    if ((rc = app_defer(app, repo_free, repo)) != 0)
        return rc;
    /* Later stages reach the store through the app (week 2's /ready pings it). */
    if ((rc = app_set_service(app, "task_repo", repo)) != 0)
        return rc;
    if ((rc = task_http_register(app, repo)) != 0)
        return rc;
    return openapi_register(app);
}

const struct stage stage_01 = {.name = "01-crud", .week = 1, .declare = declare, .start = start};
