/* unit_repo_pg.c — week 1's repository contract, graded again against PostgreSQL.
 *
 * Not a copy: this compiles weeks/01-crud/tests/unit_repo.c a second time with
 * REPO_TEST_POSTGRES defined, which grades every REPO_TEST body (create, get, update with each
 * If-Match kind, delete, every filter, every sort, keyset paging, threads)
 * against a fresh, migrated PostgreSQL database per test, in suite repo_postgres. The SQL of
 * task_repo_pg.c has to agree with the C definitions in task_repo.c, exactly as SQLite's does. */
#include "unit_pg_fixture.h"

#define REPO_TEST_POSTGRES    1
#define repo_test_pg_url      pg_test_migrated_url
#define repo_test_pg_backends pg_test_add_backends

#include "../../01-crud/tests/unit_repo.c"
