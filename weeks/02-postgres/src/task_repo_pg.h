/* task_repo_pg.h — the PostgreSQL repository (task_repo_pg.c) and its settings. */
#ifndef TASKD_TASK_REPO_PG_H
#define TASKD_TASK_REPO_PG_H

#include <stddef.h>
#include <stdint.h>

struct if_match;
struct pg_conn;
struct pg_pool;
struct scope;
struct task;
struct task_patch;
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

/* A store's writes on a connection the caller holds, for a decorator that puts more statements
 * in the same transaction (week 7's outbox: BEGIN, the write, its event, COMMIT). The same
 * statements and answers as the ops table's create/update/remove; remove also hands back the
 * row as it was (out, initialised). The caller borrows c from task_repo_pg_pool(r) and owns the
 * transaction. ERR_INVALID when r is not a PostgreSQL store (pool: NULL). */
struct pg_pool *task_repo_pg_pool(struct task_repo *r);
int task_repo_pg_create_on(struct task_repo *r, struct pg_conn *c, const struct scope *sc,
                           const struct task *in, struct task *out);
int task_repo_pg_update_on(struct task_repo *r, struct pg_conn *c, const struct scope *sc,
                           int64_t id, const struct task_patch *p, const struct if_match *im,
                           struct task *out);
int task_repo_pg_remove_on(struct task_repo *r, struct pg_conn *c, const struct scope *sc,
                           int64_t id, const struct if_match *im, struct task *out);

#endif
