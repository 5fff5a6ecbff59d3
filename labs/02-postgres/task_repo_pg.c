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
 *   Retry-After), never a crash, never a hang past connect_timeout / DB_POOL_WAIT_MS.
 *
 * Timestamps cross the wire as microseconds (bigint) and are converted in SQL by us_to_ts and
 * ts_to_us (the migration), exactly; tags cross as JSON array text, like SQLite stores them. */
#include <cjson/cJSON.h>
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
#include "timeutil.h"

enum stmt_id {
    STMT_INSERT,
    STMT_GET,
    STMT_GET_GUARDED,
    STMT_EXISTS,
    STMT_UPDATE,
    STMT_DELETE,
    STMT_KEY_INSERT,
    STMT_KEY_SELECT,
    STMT_LIST_FIRST,                                                 /* + enum task_sort */
    STMT_LIST_AFTER = STMT_LIST_FIRST + TASK_SORT_PRIORITY_DESC + 1, /* + enum task_sort */
    STMT_COUNT = STMT_LIST_AFTER + TASK_SORT_PRIORITY_DESC + 1,
};
_Static_assert(STMT_COUNT <= PG_POOL_STATEMENTS_MAX, "too many statements for the pool");

struct pg_repo {
    struct task_repo base; /* first: a struct task_repo * points here */
    struct pg_pool *pool;
    char *list_sql[2][TASK_SORT_PRIORITY_DESC + 1]; /* [0] first page, [1] after a cursor */
    pthread_mutex_t key_lock;
    bool have_key;
    unsigned char key[TASK_REPO_KEY_BYTES];
};

static struct pg_repo_settings settings = {
    .pool_size = 10, .wait_ms = 2000, .connect_timeout_s = 2};

void task_repo_pg_configure(const struct pg_repo_settings *s)
{
    if (s)
        settings = *s;
}

static struct pg_repo *pg_of(struct task_repo *r)
{
    return (struct pg_repo *)r;
}

/* The columns every statement that returns a task returns, in the order row_read reads. */
#define TASK_COLUMNS                                                                               \
    "id, owner_id, title, description, status, priority, ts_to_us(due_at), "                       \
    "array_to_json(tags)::text, version, ts_to_us(created_at), ts_to_us(updated_at)"
#define TASK_NCOLS 11
/* The JSON array text of a parameter as a text[] value. */
#define TAGS_PARAM(n) "ARRAY(SELECT jsonb_array_elements_text($" #n "::jsonb))"

/* ------------------------------------------------------------------ parameters */

/* ------------------------------------------------------------------ rows */

/* Reads the TASK_COLUMNS of row `row` into *out (initialised; overwritten on success). */
static int row_read(const PGresult *res, int row, struct task *out)
{
    if (PQnfields(res) < TASK_NCOLS) {
        log_msg(LOG_ERROR, "a task query returned too few columns");
        return ERR_INTERNAL;
    }
    struct task t;
    task_init(&t);
    int rc = ERR_NOMEM;
    t.title = strdup(PQgetvalue(res, row, 2));
    t.description = strdup(PQgetvalue(res, row, 3));
    if (!t.title || !t.description)
        goto done;
    rc = ERR_INTERNAL; /* from here on, a failed check is a row that breaks the schema */
    int64_t priority = -1;
    t.has_due = !PQgetisnull(res, row, 6);
    if (pg_parse_i64(PQgetvalue(res, row, 0), &t.id) != 0 ||
        pg_parse_i64(PQgetvalue(res, row, 1), &t.owner_id) != 0 ||
        task_status_parse(PQgetvalue(res, row, 4), &t.status) != 0 ||
        pg_parse_i64(PQgetvalue(res, row, 5), &priority) != 0 || priority < TASK_LOW ||
        priority > TASK_HIGH ||
        (t.has_due && pg_parse_i64(PQgetvalue(res, row, 6), &t.due_at) != 0) ||
        task_tags_from_json(PQgetvalue(res, row, 7), (size_t)PQgetlength(res, row, 7), &t) != 0 ||
        pg_parse_i64(PQgetvalue(res, row, 8), &t.version) != 0 ||
        pg_parse_i64(PQgetvalue(res, row, 9), &t.created_at) != 0 ||
        pg_parse_i64(PQgetvalue(res, row, 10), &t.updated_at) != 0) {
        struct log_kv kv[] = {LOG_INT("task_id", t.id)};
        log_kv(LOG_ERROR, "a row of the tasks table breaks the schema's rules", kv, 1);
        goto done;
    }
    t.priority = (enum task_priority)priority;
    task_clear(out);
    *out = t;
    return 0;
done:
    task_clear(&t);
    return rc;
}

/* The one row a statement returned, into *out: 0, or ERR_NOT_FOUND when it returned none. */
static int one_row(const PGresult *res, struct task *out)
{
    return PQntuples(res) < 1 ? ERR_NOT_FOUND : row_read(res, 0, out);
}

/* ------------------------------------------------------------------ create / get */

static int pg_create(struct task_repo *r, const struct scope *sc, const struct task *in,
                     struct task *out)
{
    static const char sql[] =
        "INSERT INTO tasks (owner_id, title, description, status, priority, due_at, tags,\n"
        "                   version, created_at, updated_at)\n"
        "VALUES ($1::bigint, $2, $3, $4, $5::smallint, us_to_ts($6::bigint), " TAGS_PARAM(
            7) ",\n"
               "        1, us_to_ts($8::bigint), us_to_ts($8::bigint))\n"
               "RETURNING " TASK_COLUMNS;
    struct pg_repo *pr = pg_of(r);
    struct task t;
    task_init(&t);
    char *tags = NULL;
    int rc = task_tags_to_json(in, &tags);
    if (rc != 0)
        return rc;
    struct pg_params p = {0};
    pg_param_i64(&p, 1, sc->owner_id);
    pg_param_text(&p, 2, in->title);
    pg_param_text(&p, 3, in->description);
    pg_param_text(&p, 4, task_status_name(in->status));
    pg_param_i64(&p, 5, in->priority);
    pg_param_opt_i64(&p, 6, in->has_due, in->due_at);
    pg_param_text(&p, 7, tags);
    pg_param_i64(&p, 8, clock_now_us());
    struct pg_conn *c = NULL;
    if ((rc = pg_pool_acquire(pr->pool, &c)) != 0)
        goto done;
    PGresult *res = NULL;
    rc = pg_conn_exec(c, STMT_INSERT, sql, 8, p.v, &res);
    if (rc == 0) {
        rc = one_row(res, &t);
        if (rc == ERR_NOT_FOUND) /* INSERT ... RETURNING always returns the row it wrote */
            rc = ERR_INTERNAL;
        PQclear(res);
    }
    pg_pool_release(pr->pool, c);
done:
    cJSON_free(tags);
    if (rc == 0) {
        task_clear(out);
        *out = t;
    } else {
        task_clear(&t);
    }
    return rc;
}

/* Runs a read-only statement returning at most one task, on a borrowed connection. */
static int read_one(struct pg_repo *pr, enum stmt_id id, const char *sql, int n,
                    const struct pg_params *p, struct task *out, PGresult **keep)
{
    struct pg_conn *c = NULL;
    int rc = pg_pool_acquire(pr->pool, &c);
    if (rc != 0)
        return rc;
    PGresult *res = NULL;
    rc = pg_conn_exec(c, (unsigned)id, sql, n, p->v, &res);
    pg_pool_release(pr->pool, c);
    if (rc != 0)
        return rc;
    rc = one_row(res, out);
    if (keep && rc == 0)
        *keep = res;
    else
        PQclear(res);
    return rc;
}

static int pg_get(struct task_repo *r, const struct scope *sc, int64_t id, struct task *out)
{
    static const char sql[] =
        "SELECT " TASK_COLUMNS " FROM tasks WHERE id = $1::bigint AND owner_id = $2::bigint";
    struct pg_params p = {0};
    pg_param_i64(&p, 1, id);
    pg_param_i64(&p, 2, sc->owner_id);
    return read_one(pg_of(r), STMT_GET, sql, 2, &p, out, NULL);
}

/* ------------------------------------------------------------------ If-Match */

/* The If-Match guard UPDATE, DELETE and the guarded read share: their WHERE says
 * `(NOT $3 OR version = $4)`, so $3 false skips the version check and $3 true demands $4. */
static void p_if_match(struct pg_params *p, const struct if_match *im)
{
    /* TODO(lab 2.1): Set $3 (check the version?) and $4 (which one) for every If-Match kind. */
    pg_param_bool(p, 3, false); pg_param_text(p, 4, NULL);
}

/* A guarded write changed no row: was there no such task (404), or another version (412)?
 * Asked after the write on the same connection; a task deleted in between is then 404, which
 * is also a true answer about that moment. */
static int why_unchanged(struct pg_conn *c, const struct scope *sc, int64_t id)
{
    static const char sql[] = "SELECT 1 FROM tasks WHERE id = $1::bigint AND owner_id = $2::bigint";
    struct pg_params p = {0};
    pg_param_i64(&p, 1, id);
    pg_param_i64(&p, 2, sc->owner_id);
    PGresult *res = NULL;
    int rc = pg_conn_exec(c, STMT_EXISTS, sql, 2, p.v, &res);
    if (rc != 0)
        return rc;
    rc = PQntuples(res) > 0 ? ERR_PRECONDITION : ERR_NOT_FOUND;
    PQclear(res);
    return rc;
}

/* ------------------------------------------------------------------ update / remove */

static int pg_update(struct task_repo *r, const struct scope *sc, int64_t id,
                     const struct task_patch *p, const struct if_match *im, struct task *out)
{
    /* $1 id, $2 owner, $3/$4 If-Match (p_if_match), then a flag and a value per field:
     * $5/$6 title, $7/$8 description, $9/$10 status, $11/$12 priority, $13/$14 due_at,
     * $15/$16 tags (JSON text), $17 now. Returns TASK_COLUMNS of the updated row. */
    /* TODO(lab 2.2): Write the UPDATE: named fields only, version + 1, If-Match in the WHERE. */
    static const char sql[] = "-- TODO(lab 2.2): UPDATE tasks ...";
    static const char guarded_sql[] =
        "SELECT " TASK_COLUMNS ", (NOT $3::boolean OR version = $4::bigint) IS TRUE\n"
        "  FROM tasks WHERE id = $1::bigint AND owner_id = $2::bigint";
    struct pg_repo *pr = pg_of(r);
    struct pg_params prm = {0};
    pg_param_i64(&prm, 1, id);
    pg_param_i64(&prm, 2, sc->owner_id);
    p_if_match(&prm, im);
    if (p->fields == 0) {
        /* Nothing to write, but If-Match still applies: one read answers 404 / 412 / 200. */
        PGresult *res = NULL;
        struct task t;
        task_init(&t);
        int rc = read_one(pr, STMT_GET_GUARDED, guarded_sql, 4, &prm, &t, &res);
        if (rc == 0) {
            rc = strcmp(PQgetvalue(res, 0, TASK_NCOLS), "t") == 0 ? 0 : ERR_PRECONDITION;
            PQclear(res);
        }
        if (rc == 0) {
            task_clear(out);
            *out = t;
        } else {
            task_clear(&t);
        }
        return rc;
    }
    const struct task *v = &p->values;
    unsigned f = p->fields;
    char *tags = NULL;
    int rc = (f & TASK_F_TAGS) ? task_tags_to_json(v, &tags) : 0;
    if (rc != 0)
        return rc;
    pg_param_bool(&prm, 5, f & TASK_F_TITLE);
    pg_param_text(&prm, 6, (f & TASK_F_TITLE) ? v->title : NULL);
    pg_param_bool(&prm, 7, f & TASK_F_DESCRIPTION);
    pg_param_text(&prm, 8, (f & TASK_F_DESCRIPTION) ? v->description : NULL);
    pg_param_bool(&prm, 9, f & TASK_F_STATUS);
    pg_param_text(&prm, 10, (f & TASK_F_STATUS) ? task_status_name(v->status) : NULL);
    pg_param_bool(&prm, 11, f & TASK_F_PRIORITY);
    pg_param_i64(&prm, 12, v->priority);
    pg_param_bool(&prm, 13, f & TASK_F_DUE_AT);
    pg_param_opt_i64(&prm, 14, (f & TASK_F_DUE_AT) && v->has_due, v->due_at); /* NULL clears it */
    pg_param_bool(&prm, 15, f & TASK_F_TAGS);
    pg_param_text(&prm, 16, tags);
    pg_param_i64(&prm, 17, clock_now_us());

    struct task t;
    task_init(&t);
    struct pg_conn *c = NULL;
    if ((rc = pg_pool_acquire(pr->pool, &c)) != 0)
        goto done;
    PGresult *res = NULL;
    rc = pg_conn_exec(c, STMT_UPDATE, sql, 17, prm.v, &res);
    if (rc == 0) {
        rc = one_row(res, &t);
        PQclear(res);
        if (rc == ERR_NOT_FOUND)
            rc = why_unchanged(c, sc, id);
    }
    pg_pool_release(pr->pool, c);
done:
    cJSON_free(tags);
    if (rc == 0) {
        task_clear(out);
        *out = t;
    } else {
        task_clear(&t);
    }
    return rc;
}

static int pg_remove(struct task_repo *r, const struct scope *sc, int64_t id,
                     const struct if_match *im)
{
    static const char sql[] = "DELETE FROM tasks\n"
                              " WHERE id = $1::bigint AND owner_id = $2::bigint\n"
                              "   AND (NOT $3::boolean OR version = $4::bigint)\n"
                              "RETURNING " TASK_COLUMNS;
    struct pg_repo *pr = pg_of(r);
    struct pg_params p = {0};
    pg_param_i64(&p, 1, id);
    pg_param_i64(&p, 2, sc->owner_id);
    p_if_match(&p, im);
    struct task t;
    task_init(&t);
    struct pg_conn *c = NULL;
    int rc = pg_pool_acquire(pr->pool, &c);
    if (rc != 0)
        return rc;
    PGresult *res = NULL;
    rc = pg_conn_exec(c, STMT_DELETE, sql, 4, p.v, &res);
    if (rc == 0) {
        rc = one_row(res, &t);
        PQclear(res);
        if (rc == ERR_NOT_FOUND)
            rc = why_unchanged(c, sc, id);
    }
    pg_pool_release(pr->pool, c);
    task_clear(&t);
    return rc;
}

/* ------------------------------------------------------------------ list */

/* The listing is assembled from the fragments below, per sort, at open. Parameters: $1 owner,
 * $2 status, $3 priority, $4 tag, $5 q, $6 due_before, $7 due_after (NULL when unset), then on
 * the first page $8 the row count; after a cursor $8 the id of the row the page starts after,
 * $9 its sort key (NULL for an undated task in the due_at sorts) and $10 the row count. */
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
/* TODO(lab 2.3): Each sort's indexed key, the cursor's key ($9) as the same type, and direction. */
static const struct sort_sql sorts[] = {BY_ID, BY_ID, BY_ID, BY_ID, BY_ID, BY_ID};

/* Builds the two statements of every sort. The row comparison (key, id) > (k, i) is what
 * task_key_compare says, and it is a range of the index (owner_id, key, id). */
static int list_sql_build(struct pg_repo *r)
{
    for (int after = 0; after < 2; after++) {
        for (size_t s = 0; s < sizeof sorts / sizeof sorts[0]; s++) {
            const struct sort_sql *k = &sorts[s];
            struct buf b = BUF_INIT;
            buf_puts(&b, list_head);
            if (after)
                buf_printf(&b, "   AND (%s, id) %s (%s, $8::bigint)\n", k->key, k->cmp,
                           k->cursor_key);
            buf_printf(&b, " ORDER BY %s %s, id %s\n LIMIT $%d::bigint", k->key, k->dir, k->dir,
                       after ? 10 : 8);
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
    const struct task_filter *f = &q->filter;
    struct pg_params p = {0};
    pg_param_i64(&p, 1, sc->owner_id);
    pg_param_text(&p, 2, f->has_status ? task_status_name(f->status) : NULL);
    pg_param_opt_i64(&p, 3, f->has_priority, f->priority);
    pg_param_text(&p, 4, f->tag);
    pg_param_text(&p, 5, f->q);
    pg_param_opt_i64(&p, 6, f->has_due_before, f->due_before);
    pg_param_opt_i64(&p, 7, f->has_due_after, f->due_after);
    int n = 8;
    if (q->has_after) {
        const struct task_key *k = &q->after;
        pg_param_i64(&p, 8, k->id);
        switch (q->sort) {
        case TASK_SORT_CREATED_AT:
        case TASK_SORT_CREATED_AT_DESC:
            pg_param_i64(&p, 9, k->created_at);
            break;
        case TASK_SORT_DUE_AT:
        case TASK_SORT_DUE_AT_DESC:
            pg_param_opt_i64(&p, 9, k->has_due, k->due_at);
            break;
        case TASK_SORT_PRIORITY:
        case TASK_SORT_PRIORITY_DESC:
            pg_param_i64(&p, 9, k->priority);
            break;
        }
        n = 10;
    }
    pg_param_i64(&p, n, (int64_t)q->limit + 1); /* one extra row says whether a next page exists */

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
        rc = pg_conn_exec(c, id, pr->list_sql[q->has_after][q->sort], n, p.v, &res);
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
    if (rc == 0) {
        task_page_clear(out);
        *out = page;
    } else {
        task_page_clear(&page);
    }
    return rc;
}

/* ------------------------------------------------------------------ key, ping, free */

static int pg_instance_key(struct task_repo *r, unsigned char key[TASK_REPO_KEY_BYTES])
{
    /* Whoever inserts first wins; every instance then reads the winner's key. */
    static const char insert_sql[] = "INSERT INTO settings (name, value)\n"
                                     "VALUES ('instance_key', decode($1::text, 'hex'))\n"
                                     "ON CONFLICT (name) DO NOTHING";
    static const char select_sql[] =
        "SELECT encode(value, 'hex') FROM settings WHERE name = 'instance_key'";
    struct pg_repo *pr = pg_of(r);
    unsigned char fresh[TASK_REPO_KEY_BYTES];
    char hex[2 * TASK_REPO_KEY_BYTES + 1];
    int rc = 0;
    pthread_mutex_lock(&pr->key_lock);
    if (pr->have_key)
        goto done;
    struct pg_conn *c = NULL;
    if ((rc = pg_pool_acquire(pr->pool, &c)) != 0)
        goto done;
    randombytes_buf(fresh, sizeof fresh);
    sodium_bin2hex(hex, sizeof hex, fresh, sizeof fresh);
    const char *v[] = {hex};
    PGresult *res = NULL;
    rc = pg_conn_exec(c, STMT_KEY_INSERT, insert_sql, 1, v, &res);
    PQclear(res);
    res = NULL;
    if (rc == 0)
        rc = pg_conn_exec(c, STMT_KEY_SELECT, select_sql, 0, NULL, &res);
    pg_pool_release(pr->pool, c);
    if (rc != 0)
        goto done;
    size_t got = 0;
    if (PQntuples(res) != 1 ||
        sodium_hex2bin(pr->key, sizeof pr->key, PQgetvalue(res, 0, 0),
                       (size_t)PQgetlength(res, 0, 0), NULL, &got, NULL) != 0 ||
        got != TASK_REPO_KEY_BYTES) {
        log_msg(LOG_ERROR, "the settings table holds no usable instance_key (32 bytes)");
        rc = ERR_INTERNAL;
    } else {
        pr->have_key = true;
    }
    PQclear(res);
done:
    if (rc == 0)
        memcpy(key, pr->key, TASK_REPO_KEY_BYTES);
    pthread_mutex_unlock(&pr->key_lock);
    sodium_memzero(fresh, sizeof fresh);
    sodium_memzero(hex, sizeof hex);
    return rc;
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
    pthread_mutex_destroy(&pr->key_lock);
    sodium_memzero(pr->key, sizeof pr->key);
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

/* ------------------------------------------------------------------ open */

int task_repo_pg_open(const char *url, struct task_repo **out)
{
    if (!out)
        return ERR_INVALID;
    *out = NULL;
    if (!url || (strncmp(url, "postgres://", 11) != 0 && strncmp(url, "postgresql://", 13) != 0)) {
        log_msg(LOG_ERROR, "a PostgreSQL DATABASE_URL is postgres://USER:PASSWORD@HOST:PORT/DB");
        return ERR_INVALID;
    }
    if (sodium_init() < 0) {
        log_msg(LOG_ERROR, "libsodium cannot initialise: no source of randomness for the key");
        return ERR_INTERNAL;
    }
    struct pg_repo *r = calloc(1, sizeof *r);
    if (!r)
        return ERR_NOMEM;
    if (pthread_mutex_init(&r->key_lock, NULL) != 0) {
        free(r);
        return ERR_INTERNAL;
    }
    r->base.ops = &pg_ops;
    struct pg_pool_options po = {.url = url,
                                 .size = settings.pool_size,
                                 .wait_ms = settings.wait_ms,
                                 .connect_timeout_s = settings.connect_timeout_s};
    int rc = pg_pool_new(&po, &r->pool);
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
