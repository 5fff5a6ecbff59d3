/* stage2.c — stage 2's resources: stage 1's task store, now able to live in PostgreSQL, on a
 * schema that is current (see stage2.h). taskd (stage.c) and taskd-worker open it the same way. */
#include "stage2.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "log.h"
#include "migrate.h"
#include "pg_pool.h"
#include "task_repo_factory.h"

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
    {.name = "DB_STATEMENT_TIMEOUT_MS",
     .kind = CONFIG_INT,
     .default_value = "5000",
     .min = 100,
     .max = 600000,
     .help = "longest one SQL statement may take before 503 (the server's statement_timeout; "
             "taskd waits 500 ms more, then drops the connection)"},
    {.name = "AUTO_MIGRATE",
     .kind = CONFIG_ENUM,
     .default_value = "0",
     .choices = "0|1",
     .help = "1: apply pending migrations at start-up (else run `taskd migrate`)"},
};

int stage2_declare(struct config *cfg)
{
    int rc = stage1_declare(cfg);
    if (rc == 0)
        rc = config_describe(cfg, "DATABASE_URL",
                             "where tasks are stored: postgres://USER:PASSWORD@HOST:PORT/DB "
                             "(or postgresql://), sqlite:PATH or memory:");
    /* A postgres:// URL can hold a password: never shown, and may come from DATABASE_URL_FILE
     * (a container's secret file, week 6). */
    if (rc == 0)
        rc = config_make_secret(cfg, "DATABASE_URL");
    return rc != 0 ? rc : config_declare(cfg, vars, sizeof vars / sizeof vars[0]);
}

bool stage2_is_postgres_url(const char *url)
{
    return url && (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0);
}

/* Migrates (AUTO_MIGRATE=1) or checks that nothing is pending: serving on a schema older than
 * the code would turn every request into a 500, so the stage refuses to open instead. The
 * runner gets a connection of its own (migrate_connect): it holds a session lock, and must not
 * hold a pool connection for the length of a schema change. */
int stage2_schema_ready(const struct config *cfg)
{
    PGconn *c = migrate_connect(config_get(cfg, "DATABASE_URL"),
                                (int)config_get_int(cfg, "DB_CONNECT_TIMEOUT_SECONDS"));
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

/* The factory's open function for postgres://: ctx is the stage's own pool settings. */
static int open_postgres(void *ctx, const char *url, struct task_repo **out)
{
    return task_repo_pg_open(ctx, url, out);
}

int stage2_open(const struct config *cfg, struct stage2 *out)
{
    *out = (struct stage2){
        .pg = {.pool_size = (size_t)config_get_int(cfg, "DB_POOL_SIZE"),
               .wait_ms = (int)config_get_int(cfg, "DB_POOL_WAIT_MS"),
               .connect_timeout_s = (int)config_get_int(cfg, "DB_CONNECT_TIMEOUT_SECONDS"),
               .statement_timeout_ms = (int)config_get_int(cfg, "DB_STATEMENT_TIMEOUT_MS")}};
    if (stage2_is_postgres_url(config_get(cfg, "DATABASE_URL"))) {
        int rc = stage2_schema_ready(cfg);
        if (rc != 0)
            return rc;
    }
    struct task_repo_factory *backends = NULL;
    int rc = task_repo_factory_new(&backends);
    const struct task_repo_backend pg[] = {
        {.scheme = "postgres", .ctx = &out->pg, .open = open_postgres},
        {.scheme = "postgresql", .ctx = &out->pg, .open = open_postgres},
    };
    for (size_t i = 0; rc == 0 && i < sizeof pg / sizeof pg[0]; i++)
        rc = task_repo_factory_add(backends, &pg[i]);
    if (rc == 0)
        rc = stage1_open(cfg, backends, &out->s1);
    task_repo_factory_free(backends);
    if (rc == 0)
        out->pool = task_repo_pg_pool(out->s1.repo); /* NULL when it is not PostgreSQL */
    return rc;
}

void stage2_close(struct stage2 *s)
{
    stage1_close(&s->s1);
}

int stage2_pool_open(const struct config *cfg, const char *size_var, struct pg_pool **out)
{
    struct pg_pool_options po = {
        .url = config_get(cfg, "DATABASE_URL"),
        .size = (size_t)config_get_int(cfg, size_var),
        .wait_ms = (int)config_get_int(cfg, "DB_POOL_WAIT_MS"),
        .connect_timeout_s = (int)config_get_int(cfg, "DB_CONNECT_TIMEOUT_SECONDS"),
        .statement_timeout_ms = (int)config_get_int(cfg, "DB_STATEMENT_TIMEOUT_MS"),
    };
    return pg_pool_new(&po, out);
}
