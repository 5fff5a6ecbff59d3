/* unit_pg_fixture.c — see unit_pg_fixture.h. */
#include "unit_pg_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "migrate.h"
#include "task_repo_factory.h"
#include "task_repo_pg.h"
#include "testkit.h"

const char *pg_test_fresh_url(void)
{
    static char url[512];
    const char *cmd = getenv("TK_FRESH_DB_CMD");
    cr_assert(cmd && *cmd, "TK_FRESH_DB_CMD is not set: run these tests with make test-week-2, "
                           "which starts PostgreSQL and sets it");
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "cannot run TK_FRESH_DB_CMD (%s)", cmd);
    char *got = fgets(url, sizeof url, p);
    int status = pclose(p);
    cr_assert(got && status == 0, "TK_FRESH_DB_CMD (%s) failed (status %d)", cmd, status);
    url[strcspn(url, "\r\n")] = '\0';
    cr_assert(strncmp(url, "postgres://", 11) == 0, "TK_FRESH_DB_CMD gave no postgres:// URL");
    return url;
}

PGconn *pg_test_connect(const char *url)
{
    PGconn *c = PQconnectdb(url);
    cr_assert(c && PQstatus(c) == CONNECTION_OK, "cannot connect to the test database: %s",
              c ? PQerrorMessage(c) : "out of memory");
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    return c;
}

long long pg_test_scalar(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    cr_assert(PQresultStatus(res) == PGRES_TUPLES_OK, "test query failed: %s\n%s",
              PQresultErrorMessage(res), sql);
    long long v = PQntuples(res) > 0 ? atoll(PQgetvalue(res, 0, 0)) : -1;
    PQclear(res);
    return v;
}

const char *pg_test_migrated_url(void)
{
    const char *url = pg_test_fresh_url();
    PGconn *c = pg_test_connect(url);
    log_set_level(LOG_WARN); /* "migration applied", once per test, is noise here */
    int rc = migrate_run(c, migrations, migrations_count, NULL, NULL);
    PQfinish(c);
    cr_assert_eq(rc, 0, "expected the migrations to apply to a fresh database, got %d", rc);
    return url;
}

/* DB_POOL_SIZE, DB_POOL_WAIT_MS and DB_CONNECT_TIMEOUT_SECONDS at their defaults. */
static struct pg_repo_settings test_settings = {
    .pool_size = 10, .wait_ms = 2000, .connect_timeout_s = 2};

static int open_postgres(void *ctx, const char *url, struct task_repo **out)
{
    return task_repo_pg_open(ctx, url, out);
}

void pg_test_add_backends(struct task_repo_factory *f)
{
    static const char *const schemes[] = {"postgres", "postgresql"};
    for (size_t i = 0; i < 2; i++) {
        struct task_repo_backend b = {
            .scheme = schemes[i], .ctx = &test_settings, .open = open_postgres};
        cr_assert_eq(task_repo_factory_add(f, &b), 0, "expected %s:// to be added", schemes[i]);
    }
}

struct task_repo *pg_test_repo_open(const char *url)
{
    struct task_repo *r = NULL;
    int rc = task_repo_pg_open(&test_settings, url, &r);
    cr_assert_eq(rc, 0, "expected the PostgreSQL repository to open, got %d", rc);
    return r;
}
