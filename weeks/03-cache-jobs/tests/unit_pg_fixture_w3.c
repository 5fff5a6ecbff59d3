/* unit_pg_fixture_w3.c — week 2's fresh-database fixture (unit_pg_fixture.h), compiled into week
 * 3's unit binary. Week 3's unit tests link only week 3's tests/ files, so the fixture is reused
 * by inclusion rather than copied; pg_test_migrated_url applies this binary's migrations, which
 * include week 3's 0002_jobs. */
#include "../../02-postgres/tests/unit_pg_fixture.c"
