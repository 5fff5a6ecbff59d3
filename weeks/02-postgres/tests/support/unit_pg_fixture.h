/* unit_pg_fixture.h — fresh PostgreSQL databases for week 2's unit tests.
 *
 * The unit tests of the PostgreSQL code need a real server (there is no honest fake of SQL
 * semantics). `make test-week-2` starts the local one and sets TK_FRESH_DB_CMD, which prints
 * the URL of a new, empty database; each test takes its own, so tests never see each other's
 * rows and may run in parallel. It sits in tests/support/, so the unit suites of later weeks link
 * it too; pg_test_migrated_url applies the migrations of the binary it is linked into (week 3's
 * include 0002_jobs). */
#ifndef TASKD_UNIT_PG_FIXTURE_H
#define TASKD_UNIT_PG_FIXTURE_H

#include <libpq-fe.h>

/* A new, empty database's URL (static storage, overwritten by the next call); the test fails
 * with an explanation when TK_FRESH_DB_CMD is missing or fails. */
const char *pg_test_fresh_url(void);
/* The same, with this binary's migrations applied. */
const char *pg_test_migrated_url(void);
/* Adds postgres:// and postgresql:// to f, with the stage's default pool settings. */
struct task_repo_factory;
void pg_test_add_backends(struct task_repo_factory *f);
/* A PostgreSQL task store on url, with the stage's default pool settings (the test fails if it
 * does not open). */
struct task_repo;
struct task_repo *pg_test_repo_open(const char *url);
/* A plain libpq connection to url (the test fails if it cannot connect); caller PQfinishes. */
PGconn *pg_test_connect(const char *url);
/* Runs sql on c and returns the first column of the first row as a number (-1: no row). */
long long pg_test_scalar(PGconn *c, const char *sql);

#endif
