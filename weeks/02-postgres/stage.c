/* stage.c — stage 2: the task service on PostgreSQL.
 *
 * Stage 2 is stage 1 plus: postgres:// in the store's factory, the pool's settings, migrations
 * (`taskd migrate`, or at start-up with AUTO_MIGRATE=1) and GET /ready. Its resources are opened
 * in src/stage2.c; this file adds the HTTP side and the migrate command. Everything of stage 1
 * is reached through stage1.h's typed functions, never by copying them. */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "err.h"
#include "migrate.h"
#include "ready_http.h"
#include "stage2.h"
#include "task_repo.h"

extern const struct stage stage_01;

static int database_check(void *repo)
{
    return task_repo_ping(repo);
}

int stage2_serve(struct app *app, struct stage2 *s)
{
    int rc = stage1_serve(app, &s->s1);
    if (rc != 0)
        return rc;
    const struct app_check db = {
        .name = "database", .required = true, .check = database_check, .ctx = s->s1.repo};
    if ((rc = app_add_check(app, &db)) != 0)
        return rc;
    return ready_register(app);
}

static void close_stage(void *s)
{
    stage2_close(s);
}

static int start(struct app *app)
{
    struct stage2 *s = app_calloc(app, sizeof *s, close_stage);
    int rc = s ? stage2_open(app_config(app), s) : ERR_NOMEM;
    return rc != 0 ? rc : stage2_serve(app, s);
}

/* `taskd migrate [--status]`: exit 0 when the schema is current, 1 on failure, 2 for a usage
 * error, 3 when --status finds migrations pending. */
static int command(struct config *cfg, int argc, char **argv)
{
    if (strcmp(argv[0], "migrate") != 0)
        return ERR_NOT_FOUND;
    bool status = argc == 2 && strcmp(argv[1], "--status") == 0;
    if (argc > 2 || (argc == 2 && !status)) {
        fprintf(stderr, "usage: taskd migrate [--status]\n");
        return 2;
    }
    if (!stage2_is_postgres_url(config_get(cfg, "DATABASE_URL"))) {
        fprintf(stderr, "taskd migrate: DATABASE_URL must be postgres://... (the SQLite store "
                        "creates its own schema)\n");
        return 2;
    }
    PGconn *c = migrate_connect(config_get(cfg, "DATABASE_URL"),
                                (int)config_get_int(cfg, "DB_CONNECT_TIMEOUT_SECONDS"));
    if (!c) {
        fprintf(stderr, "taskd migrate: cannot connect to the database (see the log above)\n");
        return 1;
    }
    size_t pending = 0;
    int rc = status ? migrate_status(c, migrations, migrations_count, stdout, &pending)
                    : migrate_run(c, migrations, migrations_count, stdout, NULL);
    PQfinish(c);
    if (rc != 0) {
        fprintf(stderr, "taskd migrate: failed (%s; see the log above)\n", err_str(rc));
        return 1;
    }
    return pending > 0 ? 3 : 0;
}

const struct stage stage_02 = {
    .name = "02-postgres",
    .week = 2,
    .prev = &stage_01,
    .declare = stage2_declare,
    .start = start,
    .command = command,
    .commands_help =
        "  migrate            apply pending schema migrations (DATABASE_URL=postgres://)\n"
        "  migrate --status   list migrations, applied or pending (exit 3: pending)",
};
