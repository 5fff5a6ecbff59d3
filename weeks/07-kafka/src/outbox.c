/* outbox.c — the outbox table's statements (outbox.h).
 *
 * Every value is a bound parameter; ids travel as one bigint[] array so that settling a batch is
 * one statement, not one per row. */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "event.h"
#include "outbox.h"
#include "pg_pool.h"

/* Statement slots: the outbox's statements share a connection with the store's (the writer's)
 * or with nothing else (the relay's), so they start past the store's slots. */
enum {
    STMT_ADD = 40,
    STMT_SENT,
    STMT_RETRY,
    STMT_STATS,
};
_Static_assert(STMT_STATS < PG_POOL_STATEMENTS_MAX, "outbox statements past the pool's slots");

static int add(struct pg_conn *c, const struct event *e, bool commit)
{
    static const char sql[] =
        "INSERT INTO outbox (event_id, task_id, payload) VALUES ($1::uuid, $2::bigint, $3)";
    char *payload = NULL;
    size_t len = 0;
    int rc = event_to_json(e, &payload, &len);
    if (rc != 0)
        return rc;
    char task_id[24];
    snprintf(task_id, sizeof task_id, "%lld", (long long)e->task_id);
    const char *v[3] = {e->event_id, task_id, payload};
    if (commit) {
        rc = pg_conn_exec_commit(c, STMT_ADD, sql, 3, v);
    } else {
        PGresult *res = NULL;
        rc = pg_conn_exec(c, STMT_ADD, sql, 3, v, &res);
        PQclear(res);
    }
    free(payload);
    return rc;
}

int outbox_add(struct pg_conn *c, const struct event *e)
{
    return add(c, e, false);
}

int outbox_add_and_commit(struct pg_conn *c, const struct event *e)
{
    return add(c, e, true);
}

void outbox_rows_free(struct outbox_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++)
        free(rows[i].payload);
    free(rows);
}

static int rows_read(const PGresult *res, struct outbox_row **rows, size_t *n)
{
    size_t count = (size_t)PQntuples(res);
    struct outbox_row *r = count ? calloc(count, sizeof *r) : NULL;
    if (count && !r)
        return ERR_NOMEM;
    for (size_t i = 0; i < count; i++) {
        int row = (int)i;
        r[i].id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
        r[i].task_id = strtoll(PQgetvalue(res, row, 1), NULL, 10);
        r[i].attempts = (int)strtol(PQgetvalue(res, row, 2), NULL, 10);
        r[i].payload_len = (size_t)PQgetlength(res, row, 3);
        r[i].payload = malloc(r[i].payload_len + 1);
        if (!r[i].payload) {
            outbox_rows_free(r, i);
            return ERR_NOMEM;
        }
        memcpy(r[i].payload, PQgetvalue(res, row, 3), r[i].payload_len + 1);
    }
    *rows = r;
    *n = count;
    return 0;
}

int outbox_claim(struct pg_conn *c, size_t max, int lease_ms, struct outbox_row **rows, size_t *n)
{
    /* Claimable: pending, due, and the oldest pending row of its task (outbox.h says why). The
     * inner SELECT locks what it picks (SKIP LOCKED: never what another relay is claiming); the
     * UPDATE moves not_before by the lease, which is the claim once committed.
     * The plan that makes this cheap walks the primary key in id order and, for each row, looks
     * for an older row of its task in outbox_task: about $1 index probes,
     * whatever the backlog (0.3 ms for 100 rows at 20,000 pending). That plan is only right
     * on a table that has rows; on the empty table of a fresh start, any plan is cheap. So
     * this statement is planned at every call (pg_conn_exec_unprepared) and never prepared:
     * PostgreSQL keeps a prepared statement's "generic plan" once it looks no worse than the
     * first few, and the one made while the table was empty compared every pending row with
     * every other (1.1 s per claim at 2,000 rows: the relay fell to 100 rows/s). */
    static const char sql[] =
        "UPDATE outbox o SET not_before = now() + $2::integer * interval '1 millisecond',\n"
        "                    attempts = o.attempts + 1\n"
        "  FROM (SELECT p.id FROM outbox p\n"
        "         WHERE p.not_before <= now()\n"
        "           AND NOT EXISTS (SELECT 1 FROM outbox f\n"
        "                            WHERE f.task_id = p.task_id AND f.id < p.id)\n"
        "         ORDER BY p.id LIMIT $1::integer\n"
        "         FOR UPDATE OF p SKIP LOCKED) picked\n"
        " WHERE o.id = picked.id\n"
        "RETURNING o.id, o.task_id, o.attempts, o.payload";
    *rows = NULL;
    *n = 0;
    if (max == 0 || max > OUTBOX_BATCH_MAX || lease_ms < 1)
        return ERR_INVALID;
    char limit[24], lease[24];
    snprintf(limit, sizeof limit, "%zu", max);
    snprintf(lease, sizeof lease, "%d", lease_ms);
    const char *v[2] = {limit, lease};
    PGresult *res = NULL;
    int rc = pg_conn_exec_unprepared(c, sql, 2, v, &res);
    if (rc == 0)
        rc = rows_read(res, rows, n);
    PQclear(res);
    return rc;
}

/* "{1,2,3}": ids as a bigint[] literal, the one parameter of a batch statement. */
static int id_array(const int64_t *ids, size_t n, struct buf *b)
{
    buf_putc(b, '{');
    for (size_t i = 0; i < n; i++)
        buf_printf(b, "%s%lld", i ? "," : "", (long long)ids[i]);
    buf_putc(b, '}');
    return b->failed ? ERR_NOMEM : 0;
}

int outbox_remove_sent(struct pg_conn *c, const int64_t *ids, size_t n)
{
    static const char sql[] = "DELETE FROM outbox WHERE id = ANY($1::bigint[])";
    if (n == 0)
        return 0;
    struct buf b;
    buf_init(&b);
    int rc = id_array(ids, n, &b);
    if (rc == 0) {
        const char *v[1] = {b.data};
        PGresult *res = NULL;
        rc = pg_conn_exec(c, STMT_SENT, sql, 1, v, &res);
        PQclear(res);
    }
    buf_free(&b);
    return rc;
}

int outbox_retry_later(struct pg_conn *c, const int64_t *ids, size_t n, int base_ms)
{
    static const char sql[] =
        "UPDATE outbox SET not_before = now() + interval '1 millisecond' *\n"
        "       LEAST(60000, $2::integer * power(2, LEAST(GREATEST(attempts - 1, 0), 16)))\n"
        " WHERE id = ANY($1::bigint[])";
    if (n == 0)
        return 0;
    struct buf b;
    buf_init(&b);
    int rc = id_array(ids, n, &b);
    if (rc == 0) {
        char base[24];
        snprintf(base, sizeof base, "%d", base_ms < 0 ? 0 : base_ms);
        const char *v[2] = {b.data, base};
        PGresult *res = NULL;
        rc = pg_conn_exec(c, STMT_RETRY, sql, 2, v, &res);
        PQclear(res);
    }
    buf_free(&b);
    return rc;
}

int outbox_stats(struct pg_conn *c, struct outbox_stats *out)
{
    static const char sql[] =
        "SELECT count(*),\n"
        "       COALESCE((extract(epoch FROM now() - min(created_at)) * 1000)::bigint, 0)\n"
        "  FROM outbox";
    PGresult *res = NULL;
    int rc = pg_conn_exec(c, STMT_STATS, sql, 0, NULL, &res);
    if (rc == 0) {
        out->pending = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        out->oldest_age_ms = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    }
    PQclear(res);
    return rc;
}
