/* stage2.h — what stage 2 gives the stages built on it (the pattern: stage1.h).
 *
 * Stage 2 is stage 1 with PostgreSQL behind the same task store: its factory knows postgres://
 * as well (with the pool settings as the backend's context, not a global), the schema is
 * migrated or checked before anything serves, and GET /ready asks the database. */
#ifndef TASKD_STAGE2_H
#define TASKD_STAGE2_H

#include <stdbool.h>

#include "stage1.h"
#include "task_repo_pg.h"

struct pg_pool;

struct stage2 {
    struct stage1 s1;           /* s1.repo: PostgreSQL for postgres:// URLs (SQLite still works) */
    struct pg_repo_settings pg; /* DB_POOL_*, DB_CONNECT_TIMEOUT_SECONDS, DB_STATEMENT_TIMEOUT_MS */
    /* The store's pool when it is PostgreSQL, NULL for SQLite; owned by the store, and kept
     * here because later weeks wrap the store and can no longer ask it (week 9's metrics). */
    struct pg_pool *pool;
};

int stage2_declare(struct config *cfg);
/* Migrates (AUTO_MIGRATE=1) or checks the schema, then opens stage 1's store with postgres://
 * known. ERR_UNAVAILABLE when PostgreSQL does not answer, ERR_CONFLICT when migrations are
 * pending and AUTO_MIGRATE is off (both logged). */
int stage2_open(const struct config *cfg, struct stage2 *out);
void stage2_close(struct stage2 *s);
/* Stage 1's routes, plus GET /ready with the database as a required check (stage.c). */
int stage2_serve(struct app *app, struct stage2 *s);

/* A pool of its own for a later week's tables (jobs, users), of size_var connections, with the
 * stage's wait, connect and statement timeouts. 0 or an ERR_ code. */
int stage2_pool_open(const struct config *cfg, const char *size_var, struct pg_pool **out);

bool stage2_is_postgres_url(const char *url);

/* What stage2_open does first, for a program that opens only pools of its own (week 7's relay
 * and consumers): migrates when AUTO_MIGRATE=1, else refuses a schema older than the binary
 * (ERR_CONFLICT, logged). ERR_UNAVAILABLE when the database does not answer. */
int stage2_schema_ready(const struct config *cfg);

#endif
