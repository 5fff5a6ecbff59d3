/* task_repo_pg.h — the PostgreSQL repository (task_repo_pg.c) and its settings. */
#ifndef TASKD_TASK_REPO_PG_H
#define TASKD_TASK_REPO_PG_H

#include <stddef.h>

struct task_repo;

struct pg_repo_settings {
    size_t pool_size;         /* DB_POOL_SIZE */
    int wait_ms;              /* DB_POOL_WAIT_MS: longest a request waits for a connection */
    int connect_timeout_s;    /* DB_CONNECT_TIMEOUT_SECONDS */
    int statement_timeout_ms; /* DB_STATEMENT_TIMEOUT_MS: a call's deadline (0: none) */
};

/* "postgres://user:password@host:port/db" (or postgresql://): a pool of connections to a
 * migrated database, sized by settings (read only during the call). Stage 2 adds it to its
 * factory under both schemes, with its settings as the backend's context. Fails with
 * ERR_UNAVAILABLE when the database does not answer now. Needs libsodium initialised
 * (stage1_init) for the instance key. */
int task_repo_pg_open(const struct pg_repo_settings *settings, const char *url,
                      struct task_repo **out);

#endif
