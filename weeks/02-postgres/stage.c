/* stage.c — stage 2: the task service on PostgreSQL.
 *
 * Stage 2 is stage 1 plus: a "postgres://" backend in the repository factory (so DATABASE_URL
 * picks it; sqlite: still works), the pool's settings, migrations (`taskd migrate`, or at
 * start-up with AUTO_MIGRATE=1) and GET /ready. Everything of stage 1 is reached by calling
 * stage_01's functions, never by copying them. */
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "err.h"
#include "log.h"
#include "migrate.h"
#include "ready_http.h"
#include "task_repo_factory.h"
#include "task_repo_pg.h"

extern const struct stage stage_01;

static const struct config_var vars[] = {
    {.name = "DB_POOL_SIZE",
     .kind = CONFIG_INT,
     .default_value = "10",
     .min = 1,
     .max = 1000,
     .help = "PostgreSQL connections kept open (at least HTTP_THREADS avoids waiting)"},
    {.name = "DB_POOL_WAIT_MS",
     .kind = CONFIG_INT,
     .default_value = "2000",
     .min = 0,
     .max = 60000,
     .help = "longest a request waits for a free connection before 503"},
    {.name = "DB_CONNECT_TIMEOUT_SECONDS",
     .kind = CONFIG_INT,
     .default_value = "2",
     .min = 1,
     .max = 60,
     .help = "longest one connection attempt may take"},
    {.name = "AUTO_MIGRATE",
     .kind = CONFIG_ENUM,
     .default_value = "0",
     .choices = "0|1",
     .help = "1: apply pending migrations at start-up (else run `taskd migrate`)"},
};

static int declare(struct config *cfg)
{
    int rc = stage_01.declare(cfg);
    return rc != 0 ? rc : config_declare(cfg, vars, sizeof vars / sizeof vars[0]);
}

static bool is_postgres_url(const char *url)
{
    return url && (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0);
}

/* A connection of its own for the migration runner: it holds a session lock, and must not
 * hold a pool connection for the length of a schema change. */
static PGconn *migrate_connect(const struct config *cfg)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%lld", config_get_int(cfg, "DB_CONNECT_TIMEOUT_SECONDS"));
    const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *const values[] = {timeout, "taskd-migrate", config_get(cfg, "DATABASE_URL"), NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", c ? PQerrorMessage(c) : "out of memory");
        why[strcspn(why, "\n")] = '\0';
        struct log_kv kv[] = {LOG_STR("error", why)};
        log_kv(LOG_ERROR, "cannot connect to PostgreSQL to migrate", kv, 1);
        PQfinish(c);
        return NULL;
    }
    /* Quiet the server's NOTICEs ("relation already exists, skipping"). */
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    return c;
}

static int register_backend(const struct config *cfg)
{
    struct pg_repo_settings s = {
        .pool_size = (size_t)config_get_int(cfg, "DB_POOL_SIZE"),
        .wait_ms = (int)config_get_int(cfg, "DB_POOL_WAIT_MS"),
        .connect_timeout_s = (int)config_get_int(cfg, "DB_CONNECT_TIMEOUT_SECONDS"),
    };
    task_repo_pg_configure(&s);
    int rc = task_repo_register_scheme("postgres", task_repo_pg_open);
    if (rc == 0)
        rc = task_repo_register_scheme("postgresql", task_repo_pg_open);
    return rc;
}

/* Migrates (AUTO_MIGRATE=1) or checks that nothing is pending: serving on a schema older than
 * the code would turn every request into a 500, so the service refuses to start instead. */
static int schema_ready(const struct config *cfg)
{
    PGconn *c = migrate_connect(cfg);
    if (!c)
        return ERR_UNAVAILABLE;
    size_t pending = 0;
    int rc = strcmp(config_get(cfg, "AUTO_MIGRATE"), "1") == 0
                 ? migrate_run(c, migrations, migrations_count, NULL, NULL)
                 : migrate_status(c, migrations, migrations_count, NULL, &pending);
    PQfinish(c);
    if (rc == 0 && pending > 0) {
        struct log_kv kv[] = {LOG_INT("pending", (long long)pending)};
        log_kv(LOG_ERROR,
               "the database schema is behind this binary: run `taskd migrate` (or start with "
               "AUTO_MIGRATE=1)",
               kv, 1);
        rc = ERR_CONFLICT;
    }
    return rc;
}

static int start(struct app *app)
{
    const struct config *cfg = app_config(app);
    int rc = register_backend(cfg);
    if (rc != 0)
        return rc;
    if (is_postgres_url(config_get(cfg, "DATABASE_URL")) && (rc = schema_ready(cfg)) != 0)
        return rc;
    if ((rc = stage_01.start(app)) != 0)
        return rc;
    return ready_register(app);
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
    if (!is_postgres_url(config_get(cfg, "DATABASE_URL"))) {
        fprintf(stderr, "taskd migrate: DATABASE_URL must be postgres://... (the SQLite store "
                        "creates its own schema)\n");
        return 2;
    }
    PGconn *c = migrate_connect(cfg);
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
    .declare = declare,
    .start = start,
    .command = command,
    .commands_help =
        "  migrate            apply pending schema migrations (DATABASE_URL=postgres://)\n"
        "  migrate --status   list migrations, applied or pending (exit 3: pending)",
};
