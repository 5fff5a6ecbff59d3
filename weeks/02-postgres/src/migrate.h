/* migrate.h — schema migrations: numbered plain-SQL files, applied once each, in order.
 *
 * Each week's migrations/NNNN_name.sql files are embedded in the stage binary at build time
 * (shared/scripts/embed-migrations.sh writes `migrations[]`), so a binary always carries the
 * schema it was written for. `taskd migrate` and AUTO_MIGRATE=1 call migrate_run; every file
 * runs in a transaction of its own and is recorded in schema_migrations with a checksum, all
 * under one advisory lock, so two instances starting together never both apply a file. */
#ifndef TASKD_MIGRATE_H
#define TASKD_MIGRATE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Flags are lines of a file's leading `--` comment block.
 * Expand/contract: a file with the line `-- compat: expand` declares the schema
 * after it backward compatible (older binaries still work on it: it only adds). The flag is
 * recorded in schema_migrations.backward_compatible, so that an older binary, which does not
 * carry the file, can tell a schema it may run on from one it must refuse. */
bool migrate_is_expand(const char *sql);
/* `-- migrate: no-transaction`: the file is one statement that cannot run in a transaction
 * (CREATE INDEX CONCURRENTLY); it runs alone, then is recorded, so it must be safe to re-run. */
bool migrate_no_transaction(const char *sql);

struct migration {
    const char *name; /* "0001_tasks" — the order is the order of names */
    const char *sql;
};

/* What this binary carries (generated). */
extern const struct migration migrations[];
extern const size_t migrations_count;

/* Applies every migration of list[0..n) that schema_migrations does not record, in order.
 * Progress lines go to `report` (may be NULL); *applied gets how many ran (may be NULL).
 * 0; ERR_UNAVAILABLE (the database is unreachable); ERR_CONFLICT (a recorded migration's text
 * has changed since it was applied, or the database records one this binary does not know
 * — a newer binary migrated it — that is not marked backward compatible: unknown migrations
 * marked so are logged as a warning and allowed); ERR_INTERNAL (a file failed: it is rolled back,
 * the error logged, and the ones after it are not tried). */
int migrate_run(PGconn *conn, const struct migration *list, size_t n, FILE *report,
                size_t *applied);

/* Prints one line per migration, "applied <when>" or "pending", to out (may be NULL); *pending
 * gets the number not yet applied (may be NULL). Writes nothing to the database. 0,
 * ERR_UNAVAILABLE, ERR_CONFLICT (the history does not match this binary) or ERR_INTERNAL. */
int migrate_status(PGconn *conn, const struct migration *list, size_t n, FILE *out,
                   size_t *pending);

/* A connection of its own for the runner (application_name "taskd-migrate"), with NOTICEs
 * quieted: it holds a session lock, so it must not be one of a pool's. NULL when the database
 * does not answer (logged, without the URL: it may hold a password). Close with PQfinish. */
PGconn *migrate_connect(const char *url, int connect_timeout_s);

#endif
