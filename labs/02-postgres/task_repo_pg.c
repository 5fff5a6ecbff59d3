/* Lab copy of weeks/02-postgres/src/task_repo_pg.c (made by shared/scripts/labgen.sh): write your code here.
 * Each TODO(lab N.M) is one exercise; labs/02-postgres/README.md explains them. */
/* task_repo_pg.c — the "postgres://..." repository: stage 2's system of record.
 *
 * It fills in task_repo.h's ops table like the SQLite backend does, and passes the same unit
 * suite (weeks/02-postgres/tests/unit_repo_pg.c re-runs week 1's), but the setting is
 * different: PostgreSQL is a server shared by every instance of the service, reached over a
 * pool of connections (pg_pool.h), and able to go away and come back.
 *
 * - Every statement is prepared once per connection, and every value is a bound parameter (in
 *   text form: libpq converts nothing, the server parses each value by the type the SQL casts
 *   it to). No client text is ever part of SQL.
 * - A write is one statement, so it is its own transaction (autocommit): one round trip.
 * - If-Match is in the WHERE of the UPDATE/DELETE. Under READ COMMITTED, a second writer
 *   blocked on the row re-checks the WHERE against the row the first one committed, so of two
 *   updates with the same If-Match exactly one matches; the other gets 412.
 * - Listing is keyset paging with one statement per sort and page kind (first page, or after a
 *   cursor), each a range scan of one index of migrations/0001_tasks.sql that stops after
 *   LIMIT+1 rows, however deep the page. The migration explains the due_at indexes.
 * - Errors from the server are mapped by pg_pool: a lost database is ERR_UNAVAILABLE (503 with
 *   Retry-After), never a crash, never a hang past connect_timeout / DB_POOL_WAIT_MS /
 *   DB_STATEMENT_TIMEOUT_MS.
 *
 * Timestamps cross the wire as microseconds (bigint) and are converted in SQL by us_to_ts and
 * ts_to_us (the migration), exactly; tags cross as JSON array text, like SQLite stores them. */
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "pg_pool.h"
#include "task_repo.h"
#include "task_repo_pg.h"
#include "task_sql.h"
#include "timeutil.h"

/* The statement slots: the shared ones (task_sql.h), then the listings, two per sort. */
enum stmt_id {
    STMT_LIST_FIRST = TASK_SQL_STMTS,                                /* + enum task_sort */
    STMT_LIST_AFTER = STMT_LIST_FIRST + TASK_SORT_PRIORITY_DESC + 1, /* + enum task_sort */
    STMT_COUNT = STMT_LIST_AFTER + TASK_SORT_PRIORITY_DESC + 1,
};
_Static_assert(STMT_COUNT <= PG_POOL_STATEMENTS_MAX, "too many statements for the pool");

struct pg_repo {
    struct task_repo base; /* first: a struct task_repo * points here */
    struct pg_pool *pool;
    char *list_sql[2][TASK_SORT_PRIORITY_DESC + 1]; /* [0] first page, [1] after a cursor */
    struct task_sql_key key;
};

static struct pg_repo *pg_of(struct task_repo *r)
{
    return (struct pg_repo *)r;
}

/* The columns every statement that returns a task returns, in the order row_read reads. */
#define TASK_COLUMNS                                                                               \
    "id, owner_id, title, description, status, priority, ts_to_us(due_at), "                       \
    "array_to_json(tags)::text, version, ts_to_us(created_at), ts_to_us(updated_at)"
/* The JSON array text of a parameter as a text[] value. */
#define TAGS_PARAM(n) "ARRAY(SELECT jsonb_array_elements_text($" #n "::jsonb))"

/* ------------------------------------------------------------------ parameters */

/* The parameters of p (task_sql.h) as libpq's text parameters. */
static void params_of(struct pg_params *out, const struct task_sql_params *p)
{
    for (int i = 0; i < p->n; i++) {
        const struct task_sql_value *v = &p->v[i];
        if (v->type == TASK_SQL_INT)
            pg_param_i64(out, i + 1, v->i);
        else if (v->type == TASK_SQL_BOOL)
            pg_param_bool(out, i + 1, v->i != 0);
        else
            pg_param_text(out, i + 1, v->s); /* s is NULL for TASK_SQL_NULL */
    }
}

/* ------------------------------------------------------------------ rows */

/* Reads the TASK_COLUMNS of row `row` into *out (initialised; overwritten on success). Every
 * value arrives as text; the numbers are parsed here, the rest is task_sql_row_read's. */
static int row_read(const PGresult *res, int row, struct task *out)
{
    if (PQnfields(res) < TASK_SQL_NCOLS) {
        log_msg(LOG_ERROR, "a task query returned too few columns");
        return ERR_INTERNAL;
    }
    struct task_sql_row r = {
        .title = PQgetvalue(res, row, 2),
        .description = PQgetvalue(res, row, 3),
        .status = PQgetvalue(res, row, 4),
        .has_due = !PQgetisnull(res, row, 6),
        .tags = PQgetvalue(res, row, 7),
        .tags_len = (size_t)PQgetlength(res, row, 7),
    };
    if (pg_parse_i64(PQgetvalue(res, row, 0), &r.id) != 0 ||
        pg_parse_i64(PQgetvalue(res, row, 1), &r.owner_id) != 0 ||
        pg_parse_i64(PQgetvalue(res, row, 5), &r.priority) != 0 ||
        (r.has_due && pg_parse_i64(PQgetvalue(res, row, 6), &r.due_at) != 0) ||
        pg_parse_i64(PQgetvalue(res, row, 8), &r.version) != 0 ||
        pg_parse_i64(PQgetvalue(res, row, 9), &r.created_at) != 0 ||
        pg_parse_i64(PQgetvalue(res, row, 10), &r.updated_at) != 0) {
        log_msg(LOG_ERROR, "a row of the tasks table holds a number that is not one");
        return ERR_INTERNAL;
    }
    return task_sql_row_read(&r, out);
}

/* The one row a statement returned, into *out: 0, or ERR_NOT_FOUND when it returned none. */
static int one_row(const PGresult *res, struct task *out)
{
    return PQntuples(res) < 1 ? ERR_NOT_FOUND : row_read(res, 0, out);
}

/* Runs the statement of slot id with p on c, returning at most one task into *t. With guard,
 * also reads the boolean after TASK_COLUMNS (the guarded read's "did If-Match pass"). */
static int exec_one(struct pg_conn *c, int id, const char *sql, const struct task_sql_params *p,
                    struct task *t, bool *guard)
{
    struct pg_params v = {0};
    params_of(&v, p);
    PGresult *res = NULL;
    int rc = pg_conn_exec(c, (unsigned)id, sql, p->n, v.v, &res);
    if (rc != 0)
        return rc;
    rc = one_row(res, t);
    if (rc == 0 && guard)
        *guard = strcmp(PQgetvalue(res, 0, TASK_SQL_NCOLS), "t") == 0;
    PQclear(res);
    return rc;
}
/* ------------------------------------------------------------------ transactions */

/* A write is one statement, its own transaction: the If-Match guard is in its WHERE, so no
 * BEGIN is needed. why_unchanged, when it runs, reads just after on the same connection.
 *
 * Each write is written once, as a function of a connection (create_on, update_on, remove_on):
 * the ops table borrows a connection and calls it; a decorator that must put more statements in
 * the same transaction holds the connection itself, BEGINs, calls it through
 * task_repo_pg_*_on (task_repo_pg.h), adds its own, and COMMITs. */

/* ------------------------------------------------------------------ create / get */

static int create_on(struct pg_conn *c, const struct scope *sc, const struct task *in,
                     struct task *out)
{
    /* $1 owner, $2 title, $3 description, $4 status, $5 priority, $6 due_at (µs, NULL when
     * unset), $7 tags (JSON text), $8 now (µs). A new task is version 1, created = updated. */
    /* TODO(lab 2.1): Write the INSERT: cast parameters, version 1, RETURNING the row. */
    static const char sql[] = "-- TODO(lab 2.1): INSERT INTO tasks ...";
    struct task_sql_params prm;
    int rc = task_sql_create_params(sc, in, &prm);
    if (rc != 0)
        return rc;
    struct task t;
    task_init(&t);
    rc = exec_one(c, TASK_SQL_INSERT, sql, &prm, &t, NULL);
    if (rc == ERR_NOT_FOUND) /* INSERT ... RETURNING always returns the row it wrote */
        rc = ERR_INTERNAL;
    return task_deliver(rc, &t, out);
}

static int pg_create(struct task_repo *r, const struct scope *sc, const struct task *in,
                     struct task *out)
{
    struct pg_repo *pr = pg_of(r);
    struct pg_conn *c = NULL;
    int rc = pg_pool_acquire(pr->pool, &c);
    if (rc != 0)
        return rc;
    rc = create_on(c, sc, in, out);
    pg_pool_release(pr->pool, c);
    return rc;
}

/* Runs a read-only statement returning at most one task, on a borrowed connection. */
static int read_one(struct pg_repo *pr, int id, const char *sql, const struct task_sql_params *p,
                    struct task *out, bool *guard)
{
    struct pg_conn *c = NULL;
    int rc = pg_pool_acquire(pr->pool, &c);
    if (rc != 0)
        return rc;
    rc = exec_one(c, id, sql, p, out, guard);
    pg_pool_release(pr->pool, c);
    return rc;
}

static int pg_get(struct task_repo *r, const struct scope *sc, int64_t id, struct task *out)
{
    static const char sql[] =
        "SELECT " TASK_COLUMNS " FROM tasks WHERE id = $1::bigint AND owner_id = $2::bigint";
    struct task_sql_params prm;
    task_sql_task_params(sc, id, NULL, &prm);
    return read_one(pg_of(r), TASK_SQL_GET, sql, &prm, out, NULL);
}

/* ------------------------------------------------------------------ update / remove */

/* UPDATE, DELETE and the guarded read share the If-Match guard `(NOT $3 OR $4::jsonb @>
 * to_jsonb(version))` (task_sql_task_params sets $3 and $4). A guarded write changed no row: was
 * there no such task (404), or another version (412)? Asked after the write on the same connection;
 * a task deleted in between is then 404, which is also a true answer about that moment. */
static int why_unchanged(struct pg_conn *c, const struct scope *sc, int64_t id)
{
    static const char sql[] = "SELECT 1 FROM tasks WHERE id = $1::bigint AND owner_id = $2::bigint";
    struct task_sql_params prm;
    task_sql_task_params(sc, id, NULL, &prm);
    struct pg_params p = {0};
    params_of(&p, &prm);
    PGresult *res = NULL;
    /* TODO(lab 2.3): Run the check: a row still there means If-Match failed (412). */
    log_msg(LOG_ERROR, "TODO(lab 2.3): 404 or 412?"); int rc = ERR_NOT_FOUND;
    return rc;
}

/* A guarded write: runs sql with prm; when it changed no row, says why (missing, or If-Match
 * failed). */
static int guarded_write(struct pg_conn *c, const struct scope *sc, int64_t id, int sid,
                         const char *sql, const struct task_sql_params *prm, struct task *t)
{
    int rc = exec_one(c, sid, sql, prm, t, NULL);
    if (rc == ERR_NOT_FOUND)
        rc = why_unchanged(c, sc, id);
    return rc;
}

static int update_on(struct pg_conn *c, const struct scope *sc, int64_t id,
                     const struct task_patch *p, const struct if_match *im, struct task *out)
{
    /* $1 id, $2 owner, $3/$4 If-Match, then a flag and a value per field (task_sql.h):
     * $5/$6 title, $7/$8 description, $9/$10 status, $11/$12 priority, $13/$14 due_at,
     * $15/$16 tags (JSON text), $17 now. Returns TASK_COLUMNS of the updated row. */
    /* TODO(lab 2.2): Write the UPDATE: named fields only, version + 1, If-Match in the WHERE. */
    static const char sql[] = "-- TODO(lab 2.2): UPDATE tasks ...";
    static const char guarded_sql[] =
        "SELECT " TASK_COLUMNS ", (NOT $3::boolean OR $4::jsonb @> to_jsonb(version)) IS TRUE\n"
        "  FROM tasks WHERE id = $1::bigint AND owner_id = $2::bigint";
    struct task_sql_params prm;
    struct task t;
    task_init(&t);
    int rc = task_sql_update_params(sc, id, p, im, &prm);
    if (rc == 0 && p->fields != 0) {
        rc = guarded_write(c, sc, id, TASK_SQL_UPDATE, sql, &prm, &t);
    } else if (rc == 0) {
        /* Nothing to write, but If-Match still applies: one read answers 404 / 412 / 200. */
        bool passed = false;
        rc = exec_one(c, TASK_SQL_GET_GUARDED, guarded_sql, &prm, &t, &passed);
        if (rc == 0 && !passed)
            rc = ERR_PRECONDITION;
    }
    return task_deliver(rc, &t, out);
}

static int pg_update(struct task_repo *r, const struct scope *sc, int64_t id,
                     const struct task_patch *p, const struct if_match *im, struct task *out)
{
    struct pg_repo *pr = pg_of(r);
    struct pg_conn *c = NULL;
    int rc = pg_pool_acquire(pr->pool, &c);
    if (rc != 0)
        return rc;
    rc = update_on(c, sc, id, p, im, out);
    pg_pool_release(pr->pool, c);
    return rc;
}

static int remove_on(struct pg_conn *c, const struct scope *sc, int64_t id,
                     const struct if_match *im, struct task *out)
{
    /* RETURNING tells whether a row went, inside the write itself. */
    static const char sql[] = "DELETE FROM tasks\n"
                              " WHERE id = $1::bigint AND owner_id = $2::bigint\n"
                              "   AND (NOT $3::boolean OR $4::jsonb @> to_jsonb(version))\n"
                              "RETURNING " TASK_COLUMNS;
    struct task_sql_params prm;
    task_sql_task_params(sc, id, im, &prm);
    struct task t;
    task_init(&t);
    int rc = guarded_write(c, sc, id, TASK_SQL_DELETE, sql, &prm, &t);
    return task_deliver(rc, &t, out);
}

static int pg_remove(struct task_repo *r, const struct scope *sc, int64_t id,
                     const struct if_match *im)
{
    struct pg_repo *pr = pg_of(r);
    struct pg_conn *c = NULL;
    int rc = pg_pool_acquire(pr->pool, &c);
    if (rc != 0)
        return rc;
    struct task gone;
    task_init(&gone);
    rc = remove_on(c, sc, id, im, &gone);
    task_clear(&gone);
    pg_pool_release(pr->pool, c);
    return rc;
}

/* ------------------------------------------------------------------ list */

/* The listing is assembled from the fragments below, per sort, at open. Parameters
 * (task_sql_list_params, compact): $1 owner, $2 status, $3 priority, $4 tag, $5 q,
 * $6 due_before, $7 due_after (NULL when unset), then on the first page $8 the row count;
 * after a cursor $8 the id of the row the page starts after, $9 its sort key (NULL for an
 * undated task in the due_at sorts) and $10 the row count. */
static const char list_head[] =
    "SELECT " TASK_COLUMNS " FROM tasks\n"
    " WHERE owner_id = $1::bigint\n"
    "   AND ($2::text IS NULL OR status = $2::text)\n"
    "   AND ($3::smallint IS NULL OR priority = $3::smallint)\n"
    "   AND ($4::text IS NULL OR $4::text = ANY (tags))\n"
    /* lower() folds ASCII only in the C locale, like task_filter_match; strpos() has no
     * wildcards, so %, _ and \ in q are plain characters. */
    "   AND ($5::text IS NULL OR strpos(lower(title), lower($5::text)) > 0\n"
    "                         OR strpos(lower(description), lower($5::text)) > 0)\n"
    /* A NULL due_at compares as NULL, never true: undated tasks never match a due bound. */
    "   AND ($6::bigint IS NULL OR due_at < us_to_ts($6::bigint))\n"
    "   AND ($7::bigint IS NULL OR due_at > us_to_ts($7::bigint))\n";

/* Each sort's key: the indexed expression, and the same expression of the cursor's $9. A
 * missing due date is +infinity ascending and -infinity descending, so it is last both ways. */
struct sort_sql {
    const char *key, *cursor_key, *cmp, *dir;
};
/* The lab's starting point: every sort by id alone (correct paging, wrong order). */
#define BY_ID                                                                                      \
    {                                                                                              \
        "id", "$9::bigint", ">", "ASC"                                                             \
    }
/* TODO(lab 2.5): Each sort's indexed key, the cursor's key ($9) as the same type, and direction. */
static const struct sort_sql sorts[] = {BY_ID, BY_ID, BY_ID, BY_ID, BY_ID, BY_ID};

/* Builds the two statements of every sort. The row comparison (key, id) > (k, i) is what
 * task_key_compare says, and it is a range of the index (owner_id, key, id). */
static int list_sql_build(struct pg_repo *r)
{
    for (int after = 0; after < 2; after++) {
        for (size_t s = 0; s < sizeof sorts / sizeof sorts[0]; s++) {
            const struct sort_sql *k = &sorts[s];
            struct buf b = BUF_INIT;
            /* TODO(lab 2.4): The page: list_head, the cursor's row comparison, ORDER BY, LIMIT. */
            buf_printf(&b, "-- TODO(lab 2.4): a keyset page\n%s", list_head);
            if (b.failed) {
                buf_free(&b);
                return ERR_NOMEM;
            }
            r->list_sql[after][s] = b.data; /* owned now */
        }
    }
    return 0;
}

static int pg_list(struct task_repo *r, const struct scope *sc, const struct task_list_query *q,
                   struct task_page *out)
{
    struct pg_repo *pr = pg_of(r);
    struct task_sql_params prm;
    task_sql_list_params(sc, q, true, &prm);
    struct pg_params p = {0};
    params_of(&p, &prm);

    struct task_page page;
    task_page_init(&page);
    page.items = calloc(q->limit, sizeof *page.items);
    if (!page.items)
        return ERR_NOMEM;
    struct pg_conn *c = NULL;
    int rc = pg_pool_acquire(pr->pool, &c);
    PGresult *res = NULL;
    if (rc == 0) {
        unsigned id = (unsigned)(q->has_after ? STMT_LIST_AFTER : STMT_LIST_FIRST) + q->sort;
        rc = pg_conn_exec(c, id, pr->list_sql[q->has_after][q->sort], prm.n, p.v, &res);
        pg_pool_release(pr->pool, c);
    }
    if (rc == 0) {
        size_t rows = (size_t)PQntuples(res);
        page.has_more = rows > q->limit;
        for (size_t i = 0; i < rows && i < q->limit && rc == 0; i++) {
            task_init(&page.items[i]);
            if ((rc = row_read(res, (int)i, &page.items[i])) == 0)
                page.count++;
        }
        PQclear(res);
    }
    return task_page_deliver(rc, &page, out);
}

/* ------------------------------------------------------------------ key, ping, free */

/* Whoever inserts first wins; every instance then reads the winner's key. */
static int pg_key_fetch(struct task_repo *r, const unsigned char fresh[TASK_REPO_KEY_BYTES],
                        unsigned char got[TASK_REPO_KEY_BYTES])
{
    static const char insert_sql[] = "INSERT INTO settings (name, value)\n"
                                     "VALUES ('instance_key', decode($1::text, 'hex'))\n"
                                     "ON CONFLICT (name) DO NOTHING";
    static const char select_sql[] =
        "SELECT encode(value, 'hex') FROM settings WHERE name = 'instance_key'";
    struct pg_repo *pr = pg_of(r);
    char hex[2 * TASK_REPO_KEY_BYTES + 1];
    struct pg_conn *c = NULL;
    int rc = pg_pool_acquire(pr->pool, &c);
    if (rc != 0)
        return rc;
    sodium_bin2hex(hex, sizeof hex, fresh, TASK_REPO_KEY_BYTES);
    const char *v[] = {hex};
    PGresult *res = NULL;
    rc = pg_conn_exec(c, TASK_SQL_KEY_INSERT, insert_sql, 1, v, &res);
    sodium_memzero(hex, sizeof hex);
    PQclear(res);
    res = NULL;
    if (rc == 0)
        rc = pg_conn_exec(c, TASK_SQL_KEY_SELECT, select_sql, 0, NULL, &res);
    pg_pool_release(pr->pool, c);
    if (rc != 0)
        return rc;
    size_t len = 0;
    if (PQntuples(res) != 1 ||
        sodium_hex2bin(got, TASK_REPO_KEY_BYTES, PQgetvalue(res, 0, 0),
                       (size_t)PQgetlength(res, 0, 0), NULL, &len, NULL) != 0 ||
        len != TASK_REPO_KEY_BYTES)
        rc = ERR_NOT_FOUND;
    PQclear(res);
    return rc;
}

static int pg_instance_key(struct task_repo *r, unsigned char key[TASK_REPO_KEY_BYTES])
{
    return task_sql_key_get(&pg_of(r)->key, r, pg_key_fetch, key);
}

static int pg_ping(struct task_repo *r)
{
    return pg_pool_check(pg_of(r)->pool);
}

static void pg_free(struct task_repo *r)
{
    struct pg_repo *pr = pg_of(r);
    pg_pool_free(pr->pool);
    for (int a = 0; a < 2; a++)
        for (size_t s = 0; s < sizeof sorts / sizeof sorts[0]; s++)
            free(pr->list_sql[a][s]);
    task_sql_key_clear(&pr->key);
    free(pr);
}

static const struct task_repo_ops pg_ops = {
    .name = "postgres",
    .create = pg_create,
    .get = pg_get,
    .update = pg_update,
    .remove = pg_remove,
    .list = pg_list,
    .instance_key = pg_instance_key,
    .ping = pg_ping,
    .free = pg_free,
};

/* ------------------------------------------------------------------ writes on a held connection */

/* The store behind r, or NULL when r is not this backend. */
static struct pg_repo *pg_checked(struct task_repo *r)
{
    return r && r->ops == &pg_ops ? pg_of(r) : NULL;
}

struct pg_pool *task_repo_pg_pool(struct task_repo *r)
{
    struct pg_repo *pr = pg_checked(r);
    return pr ? pr->pool : NULL;
}

int task_repo_pg_create_on(struct task_repo *r, struct pg_conn *c, const struct scope *sc,
                           const struct task *in, struct task *out)
{
    return pg_checked(r) && c ? create_on(c, sc, in, out) : ERR_INVALID;
}

int task_repo_pg_update_on(struct task_repo *r, struct pg_conn *c, const struct scope *sc,
                           int64_t id, const struct task_patch *p, const struct if_match *im,
                           struct task *out)
{
    return pg_checked(r) && c ? update_on(c, sc, id, p, im, out) : ERR_INVALID;
}

int task_repo_pg_remove_on(struct task_repo *r, struct pg_conn *c, const struct scope *sc,
                           int64_t id, const struct if_match *im, struct task *out)
{
    return pg_checked(r) && c ? remove_on(c, sc, id, im, out) : ERR_INVALID;
}

/* ------------------------------------------------------------------ open */

int task_repo_pg_open(const struct pg_repo_settings *settings, const char *url,
                      struct task_repo **out)
{
    if (!settings)
        return ERR_INVALID;
    static const char *const schemes[] = {"postgres://", "postgresql://", NULL};
    int rc = task_repo_open_check(
        url, schemes, "a PostgreSQL DATABASE_URL is postgres://USER:PASSWORD@HOST:PORT/DB", out);
    if (rc != 0)
        return rc;
    struct pg_repo *r = task_repo_alloc(sizeof *r, &pg_ops);
    if (!r)
        return ERR_NOMEM;
    if (task_sql_key_init(&r->key) != 0) {
        pg_free(&r->base);
        return ERR_INTERNAL;
    }
    struct pg_pool_options po = {.url = url,
                                 .size = settings->pool_size,
                                 .wait_ms = settings->wait_ms,
                                 .connect_timeout_s = settings->connect_timeout_s,
                                 .statement_timeout_ms = settings->statement_timeout_ms};
    rc = pg_pool_new(&po, &r->pool);
    if (rc == 0)
        rc = list_sql_build(r);
    if (rc == 0 && (rc = pg_pool_check(r->pool)) != 0)
        log_msg(LOG_ERROR, "PostgreSQL does not answer at DATABASE_URL");
    if (rc != 0) {
        pg_free(&r->base);
        return rc;
    }
    *out = &r->base;
    return 0;
}
