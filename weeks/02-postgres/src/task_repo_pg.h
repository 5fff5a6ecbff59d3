/* task_repo_pg.h — the PostgreSQL repository (task_repo_pg.c) and its settings. */
#ifndef TASKD_TASK_REPO_PG_H
#define TASKD_TASK_REPO_PG_H

#include <stddef.h>

struct task_repo;

struct pg_repo_settings {
    size_t pool_size;      /* DB_POOL_SIZE */
    int wait_ms;           /* DB_POOL_WAIT_MS: longest a request waits for a connection */
    int connect_timeout_s; /* DB_CONNECT_TIMEOUT_SECONDS */
};

/* Settings for repositories opened after this call (stage 2 calls it before any thread). */
void task_repo_pg_configure(const struct pg_repo_settings *s);

/* "postgres://user:password@host:port/db" (or postgresql://): a pool of connections to a
 * migrated database. Registered with the factory under both schemes by stage 2. Fails with
 * ERR_UNAVAILABLE when the database does not answer now. */
int task_repo_pg_open(const char *url, struct task_repo **out);

#endif
