/* unit_pg_fixture_w4.c — week 2's fresh-database fixture (unit_pg_fixture.h), compiled into week
 * 4's unit binary. Week 4's unit tests link only week 4's tests/ files, so the fixture is reused
 * by inclusion rather than copied; pg_test_migrated_url applies this binary's migrations, which
 * include week 4's 0003_users. */
#include "../../02-postgres/tests/unit_pg_fixture.c"
