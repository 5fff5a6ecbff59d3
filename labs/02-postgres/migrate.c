/* Lab copy of weeks/02-postgres/src/migrate.c (made by shared/scripts/labgen.sh): write your code here.
 * Each TODO(lab N.M) is one exercise; labs/02-postgres/README.md explains them. */
/* migrate.c — applies the embedded migrations (see migrate.h).
 *
 * The runner's whole contract fits in a few rules, and each has a reason:
 * - One advisory lock around everything: a second `taskd migrate` (or a second instance with
 *   AUTO_MIGRATE=1) waits until the first is done, then finds nothing left to do. A session
 *   lock is released by the server even if we crash, so it can never be left behind.
 * - One transaction per file, with its schema_migrations row: a file is applied completely or
 *   not at all (PostgreSQL's DDL is transactional), and a failed file stops the run.
 * - A checksum per applied file: editing a migration after it ran is refused, loudly, because
 *   the database no longer matches any file anyone can read. Write a new migration instead.
 * - A file whose header has `-- migrate: no-transaction` runs outside any transaction, for the
 *   statements PostgreSQL refuses inside one (CREATE INDEX CONCURRENTLY): one statement per such
 *   file, written to be safe to re-run.
 * - Expand/contract: a file whose header has `-- compat: expand` says that the schema after it
 *   still serves the binaries written before it (it only adds: a table, a nullable column, an
 *   index). The runner records that flag, and an older binary that meets an unknown migration
 *   starts (with a warning) when every unknown one carries it, and refuses otherwise: during a
 *   rolling deploy the old version keeps serving on the expanded schema, and a destructive
 *   ("contract") change waits for a release no old binary runs next to.
 * The files themselves are plain SQL, run with the simple-query protocol (several statements
 * per file are fine; no parameters are needed, none of their text comes from a client). */
#include "migrate.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "pg_pool.h"

/* "taskd migrate" as a 64-bit advisory-lock key; any constant no other code uses would do. */
#define MIGRATE_LOCK_KEY "7310582047331012431"
/* The row that says a file ran: $1 name, $2 checksum, $3 backward_compatible. */
#define RECORD_SQL                                                                                 \
    "INSERT INTO schema_migrations (name, checksum, backward_compatible) VALUES ($1, $2, $3)"

/* Runs sql (no parameters); maps a failure to an ERR_ code and logs it. *out gets the result
 * when it is wanted (the caller PQclears it). */
static int run(PGconn *c, const char *sql, int nparams, const char *const *values, PGresult **out,
               const char *what)
{
    PGresult *res =
        nparams > 0 ? PQexecParams(c, sql, nparams, NULL, values, NULL, NULL, 0) : PQexec(c, sql);
    if (pg_result_keep(res, out))
        return 0;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    struct log_kv kv[] = {
        LOG_STR("step", what),
        LOG_STR("sqlstate", state ? state : "none"),
        LOG_STR("pg_error", msg ? msg : PQerrorMessage(c)),
    };
    log_kv(LOG_ERROR, "migration step failed", kv, sizeof kv / sizeof kv[0]);
    PQclear(res);
    return PQstatus(c) == CONNECTION_OK ? ERR_INTERNAL : ERR_UNAVAILABLE;
}

static void checksum_hex(const char *sql, char hex[2 * crypto_hash_sha256_BYTES + 1])
{
    unsigned char sum[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(sum, (const unsigned char *)sql, strlen(sql));
    sodium_bin2hex(hex, 2 * crypto_hash_sha256_BYTES + 1, sum, sizeof sum);
}

/* The column is added by ALTER as well, for a table a runner before expand/contract created. */
static int ensure_table(PGconn *c)
{
    return run(c,
               "CREATE TABLE IF NOT EXISTS schema_migrations (\n"
               "    name       text PRIMARY KEY,\n"
               "    checksum   text NOT NULL,\n"
               "    applied_at timestamptz NOT NULL DEFAULT now()\n"
               ");\n"
               "ALTER TABLE schema_migrations\n"
               "    ADD COLUMN IF NOT EXISTS backward_compatible boolean NOT NULL DEFAULT false",
               0, NULL, NULL, "create schema_migrations");
}

/* True when one line of the file's leading `--` comment block is exactly mark: a flag is part
 * of the header, never a word in the middle of the SQL. */
static bool header_has(const char *sql, const char *mark)
{
    size_t n = strlen(mark);
    for (const char *line = sql; line && strncmp(line, "--", 2) == 0;) {
        size_t len = strcspn(line, "\r\n");
        if (len == n && strncmp(line, mark, n) == 0)
            return true;
        line += len;
        line += strspn(line, "\r\n");
    }
    return false;
}

bool migrate_is_expand(const char *sql)
{
    return header_has(sql, "-- compat: expand");
}

bool migrate_no_transaction(const char *sql)
{
    return header_has(sql, "-- migrate: no-transaction");
}

/* The row of list[i] in `applied` (name, checksum, applied_at, backward_compatible), or -1. */
static int find_applied(const PGresult *applied, const char *name)
{
    for (int r = 0; r < PQntuples(applied); r++)
        if (strcmp(PQgetvalue(applied, r, 0), name) == 0)
            return r;
    return -1;
}

/* Refuses a database that does not match this binary's files: a recorded file whose text has
 * changed, or a recorded name this binary does not carry (a newer release migrated it) unless
 * that release marked it backward compatible (then a warning: this binary runs on it). */
static int check_history(const PGresult *applied, const struct migration *list, size_t n)
{
    int rc = 0;
    for (int r = 0; r < PQntuples(applied); r++) {
        const char *name = PQgetvalue(applied, r, 0);
        const struct migration *m = NULL;
        for (size_t i = 0; i < n && !m; i++)
            if (strcmp(list[i].name, name) == 0)
                m = &list[i];
        struct log_kv kv[] = {LOG_STR("migration", name)};
        if (!m && strcmp(PQgetvalue(applied, r, 3), "t") == 0) {
            log_kv(LOG_WARN,
                   "the database has a newer migration this binary does not know, marked "
                   "backward compatible (-- compat: expand); running on the expanded schema",
                   kv, 1);
            continue;
        }
        if (!m) {
            log_kv(LOG_ERROR,
                   "the database has a migration this binary does not know (a newer "
                   "release applied it); refusing to run an older schema",
                   kv, 1);
            rc = ERR_CONFLICT;
            continue;
        }
        /* TODO(lab 2.10): Refuse a recorded file whose text (checksum) differs from ours. */
    }
    return rc;
}

static int read_applied(PGconn *c, PGresult **out)
{
    /* to_jsonb reads the flag without failing on a table from before it existed (status never
     * alters the table): missing is false, the old meaning. */
    return run(c,
               "SELECT name, checksum, applied_at::text,\n"
               "       coalesce((to_jsonb(m) ->> 'backward_compatible')::boolean, false)\n"
               "FROM schema_migrations m ORDER BY name",
               0, NULL, out, "read schema_migrations");
}

/* A file that opted out of the transaction (CREATE INDEX CONCURRENTLY cannot run inside one):
 * its one statement runs alone, then it is recorded. A failure between the two leaves the
 * statement done and the file unrecorded, so such a file must be safe to run again (IF NOT
 * EXISTS); a failed CONCURRENTLY build leaves an INVALID index to drop before the next try. */
static int apply_alone(PGconn *c, const struct migration *m, const char *const *values)
{
    int rc = run(c, m->sql, 0, NULL, NULL, m->name);
    if (rc == 0)
        rc = run(c, RECORD_SQL, 3, values, NULL, "record migration");
    return rc;
}

static int apply_one(PGconn *c, const struct migration *m)
{
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    checksum_hex(m->sql, hex);
    const char *values[] = {m->name, hex, migrate_is_expand(m->sql) ? "t" : "f"};
    if (migrate_no_transaction(m->sql))
        return apply_alone(c, m, values);
    /* TODO(lab 2.9): Apply the file and record it (values) in one transaction. */
    int rc = run(c, m->sql, 0, NULL, NULL, m->name);
    return rc;
}

int migrate_run(PGconn *c, const struct migration *list, size_t n, FILE *report, size_t *applied)
{
    if (applied)
        *applied = 0;
    if (!c || PQstatus(c) != CONNECTION_OK)
        return ERR_UNAVAILABLE;
    if (!list && n > 0)
        return ERR_INVALID;
    const char *key[] = {MIGRATE_LOCK_KEY};
    /* Blocks while another runner holds it: the second one then sees everything applied. */
    int rc = run(c, "SELECT pg_advisory_lock($1::bigint)", 1, key, NULL, "lock");
    if (rc != 0)
        return rc;
    PGresult *done = NULL;
    rc = ensure_table(c);
    if (rc == 0)
        rc = read_applied(c, &done);
    if (rc == 0)
        rc = check_history(done, list, n);
    size_t count = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (find_applied(done, list[i].name) >= 0)
            continue;
        if ((rc = apply_one(c, &list[i])) != 0)
            break;
        count++;
        struct log_kv kv[] = {LOG_STR("migration", list[i].name)};
        log_kv(LOG_INFO, "migration applied", kv, 1);
        if (report)
            fprintf(report, "applied %s\n", list[i].name);
    }
    PQclear(done);
    if (PQstatus(c) == CONNECTION_OK)
        PQclear(
            PQexecParams(c, "SELECT pg_advisory_unlock($1::bigint)", 1, NULL, key, NULL, NULL, 0));
    if (rc == 0 && report)
        fprintf(report, "migrations: %zu applied now, %zu in all, schema is current\n", count, n);
    if (applied)
        *applied = count;
    return rc;
}

int migrate_status(PGconn *c, const struct migration *list, size_t n, FILE *out, size_t *pending)
{
    if (pending)
        *pending = 0;
    if (!c || PQstatus(c) != CONNECTION_OK)
        return ERR_UNAVAILABLE;
    /* A status check writes nothing: without the table, every migration is pending. */
    PGresult *exists = NULL;
    int rc = run(c, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL, &exists,
                 "find schema_migrations");
    if (rc != 0)
        return rc;
    bool have_table = PQntuples(exists) == 1 && strcmp(PQgetvalue(exists, 0, 0), "t") == 0;
    PQclear(exists);
    PGresult *done = NULL;
    rc = have_table ? read_applied(c, &done)
                    : run(c, "SELECT ''::text, ''::text, ''::text, false WHERE false", 0, NULL,
                          &done, "empty history");
    if (rc != 0)
        return rc;
    size_t waiting = 0;
    for (size_t i = 0; i < n; i++) {
        int r = find_applied(done, list[i].name);
        if (r < 0)
            waiting++;
        if (out && r >= 0)
            fprintf(out, "%-32s applied %s\n", list[i].name, PQgetvalue(done, r, 2));
        else if (out)
            fprintf(out, "%-32s pending\n", list[i].name);
    }
    rc = check_history(done, list, n) == 0 ? 0 : ERR_CONFLICT;
    PQclear(done);
    if (pending)
        *pending = waiting;
    return rc;
}

PGconn *migrate_connect(const char *url, int connect_timeout_s)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", connect_timeout_s);
    const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *const values[] = {timeout, "taskd-migrate", url, NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", c ? PQerrorMessage(c) : "out of memory");
        why[strcspn(why, "\n")] = '\0';
        struct log_kv kv[] = {LOG_STR("error", why)};
        log_kv(LOG_ERROR, "cannot connect to PostgreSQL to migrate", kv, 1);
        PQfinish(c);
        return NULL;
    }
    /* Quiet the server's NOTICEs ("relation already exists, skipping"). */
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    return c;
}
