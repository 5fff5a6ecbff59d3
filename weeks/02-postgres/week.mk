# Week 2's build facts. Stage 2 keeps its tasks in PostgreSQL: it links libpq (packages), its suites and
# `make run` need the local PostgreSQL that shared/scripts/services.sh starts, every server a
# suite starts gets a database of its own, and the schema is migrated at start-up.
WEEK_SERVICES_2 := postgres
WEEK_TEST_ENV_2 := AUTO_MIGRATE=1
WEEK_RUN_ENV_2 := AUTO_MIGRATE=1
# `make run`'s database when DATABASE_URL is not set: the local cluster's (from services.env).
WEEK_RUN_DB_2 := $$PG_URL
WEEK_FRESH_DB_2 := bash shared/scripts/services.sh fresh-db
WEEK_DROP_DB_2 := bash shared/scripts/services.sh drop-db
