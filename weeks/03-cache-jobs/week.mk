# Week 3's build facts. Stage 3 adds a cache (Redis or memcached) in front of the task store and
# background jobs on a Redis queue, run by a second binary, taskd-worker (bin/taskd-worker.c),
# which sends e-mail over SMTP with libcurl. Its suites and `make run` need Redis, memcached and
# the SMTP sink beside PostgreSQL.
WEEK_SERVICES_3 := redis memcached smtp
WEEK_TEST_ENV_3 :=
WEEK_RUN_ENV_3 :=
