/* Lab copy of weeks/01-crud/src/task_repo_sqlite.c (made by shared/scripts/labgen.sh): write your code here.
 * Each TODO(lab N.M) is one exercise; labs/01-crud/README.md explains them. */
/* task_repo_sqlite.c — the "sqlite:PATH" repository, week 1's default store.
 *
 * SQLite is a library, not a server: the database is one file (plus its -wal and -shm files),
 * so stage 1 runs on a fresh machine with nothing to install or start. This backend fills in
 * task_repo.h's ops table and keeps its whole contract in SQL:
 *
 * - One connection behind one mutex. The HTTP layer calls us from several threads; serialising
 *   them on one connection is simple and correct, and SQLite in WAL mode is fast enough for a
 *   single process that this is not the bottleneck. Other processes may share the file: WAL lets
 *   readers run beside one writer, and busy_timeout makes a writer wait its turn (too long a
 *   wait becomes ERR_UNAVAILABLE, a 503 the client may retry).
 * - Statements are prepared once, on first use, and cached for the life of the connection.
 *   Every value a client sent is bound with sqlite3_bind_*; no client text is ever part of SQL.
 * - A write is BEGIN IMMEDIATE, one statement, COMMIT: when the statement changed nothing, the
 *   question "missing, or If-Match failed?" is answered inside the same transaction, about the
 *   same state the write saw.
 * - If-Match is part of the UPDATE/DELETE itself (compare-and-set in one statement); reading the
 *   version first and writing after would let two clients both pass the check.
 * - Listing is keyset paging: two statements per sort, the first page and the page after a
 *   cursor, whose "after" condition is task_key_compare (task_repo.c) written in SQL as a range
 *   of that sort's index (NULL due dates last included), so a deep page costs what the first does.
 *
 * Timestamps are INTEGER microseconds since the epoch (timeutil.h); tags are a JSON array in a
 * TEXT column, searched with json_each. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "task_repo.h"
#include "task_repo_factory.h"
#include "task_repo_sqlite.h"
#include "task_sql.h"
#include "timeutil.h"

#define BUSY_TIMEOUT_MS 5000

/* Every cached statement has a slot: the shared ones (task_sql.h), then ours; the listings
 * come last: the six first pages, one per enum task_sort, then the six pages after a cursor. */
enum stmt_id {
    STMT_BEGIN = TASK_SQL_STMTS,
    STMT_COMMIT,
    STMT_ROLLBACK,
    STMT_PING,
    STMT_LIST, /* + enum task_sort, + LIST_SORTS after a cursor */
    STMT_COUNT = STMT_LIST + 2 * (TASK_SORT_PRIORITY_DESC + 1),
};

struct sqlite_repo {
    struct task_repo base; /* first: a struct task_repo * points here */
    pthread_mutex_t lock;  /* one caller at a time on db and everything below */
    sqlite3 *db;
    bool locked;                     /* lock initialised */
    sqlite3_stmt *stmts[STMT_COUNT]; /* NULL until first used */
    struct task_sql_key key;
};

/* The columns every statement that returns a task returns, in the order row_read reads. */
#define TASK_COLUMNS                                                                               \
    "id, owner_id, title, description, status, priority, due_at, tags, version, created_at, "      \
    "updated_at"

/* The due_at sort keys: no due date is later than every date ascending, earlier descending, so
 * it comes last both ways (valid dates are years 1..9999, far inside these bounds). Each is an
 * indexed expression; a query uses the index only if it writes the expression the same way. */
#define DUE_KEY_ASC     "coalesce(due_at, 9223372036854775807)"
#define DUE_KEY_DESC    "coalesce(due_at, -9223372036854775807)"
#define DUE_CURSOR_ASC  "coalesce(?9, 9223372036854775807)"
#define DUE_CURSOR_DESC "coalesce(?9, -9223372036854775807)"

static const char schema_sql[] =
    "BEGIN IMMEDIATE;\n"
    "CREATE TABLE IF NOT EXISTS tasks (\n"
    "    id          INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "    owner_id    INTEGER NOT NULL,\n"
    "    title       TEXT    NOT NULL,\n"
    "    description TEXT    NOT NULL DEFAULT '',\n"
    "    status      TEXT    NOT NULL CHECK (status IN ('todo', 'in_progress', 'done')),\n"
    "    priority    INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 2),\n"
    "    due_at      INTEGER,\n" /* µs since the epoch, NULL = no due date */
    "    tags        TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),\n"
    "    version     INTEGER NOT NULL,\n"
    "    created_at  INTEGER NOT NULL,\n"
    "    updated_at  INTEGER NOT NULL\n"
    ");\n"
    /* One index per sort, each led by the owner: a listing is one range scan of one index.
     * The due_at sorts put undated tasks last both ways, which is not where SQLite keeps NULLs
     * (first), so their indexes hold the key with NULL as the largest (ascending) or the
     * smallest (descending) integer, like week 2's. Files made before this drop the old one. */
    "CREATE INDEX IF NOT EXISTS tasks_owner_created ON tasks (owner_id, created_at, id);\n"
    "DROP INDEX IF EXISTS tasks_owner_due;\n"
    "CREATE INDEX IF NOT EXISTS tasks_owner_due_asc ON tasks (owner_id, " DUE_KEY_ASC ", id);\n"
    "CREATE INDEX IF NOT EXISTS tasks_owner_due_desc ON tasks (owner_id, " DUE_KEY_DESC ", id);\n"
    "CREATE INDEX IF NOT EXISTS tasks_owner_priority ON tasks (owner_id, priority, id);\n"
    "CREATE TABLE IF NOT EXISTS settings (\n"
    "    name  TEXT PRIMARY KEY,\n"
    "    value BLOB NOT NULL\n"
    ");\n"
    "COMMIT;\n";

static struct sqlite_repo *sqlite_of(struct task_repo *r)
{
    return (struct sqlite_repo *)r;
}

/* ------------------------------------------------------------------ errors and statements */

/* Turns a failed SQLite call into our vocabulary, logging what is not a client's business.
 * The log names the operation and SQLite's message, never a bound value. */
static int db_error(struct sqlite_repo *r, int code, const char *what)
{
    switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: {
        /* Another writer held the database for longer than busy_timeout: worth a retry. */
        struct log_kv kv[] = {LOG_STR("op", what)};
        log_kv(LOG_WARN, "the SQLite database stayed locked; answering unavailable", kv, 1);
        return ERR_UNAVAILABLE;
    }
    case SQLITE_NOMEM:
        return ERR_NOMEM;
    default:
        break;
    }
    struct log_kv kv[] = {
        LOG_STR("op", what),
        LOG_INT("sqlite_code", code),
        LOG_STR("sqlite_error", r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(code)),
    };
    log_kv(LOG_ERROR, "SQLite call failed", kv, sizeof kv / sizeof kv[0]);
    return ERR_INTERNAL;
}

/* The cached statement for slot id, preparing sql on first use. */
static int stmt_get(struct sqlite_repo *r, int id, const char *sql, sqlite3_stmt **out)
{
    if (!r->stmts[id]) {
        /* PERSISTENT tells SQLite the statement lives long, so it allocates it accordingly. */
        int rc = sqlite3_prepare_v3(r->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &r->stmts[id], NULL);
        if (rc != SQLITE_OK)
            return db_error(r, rc, "prepare");
        if (!r->stmts[id]) { /* the text held no statement at all (empty, or only comments) */
            struct log_kv kv[] = {LOG_INT("statement", id)};
            log_kv(LOG_ERROR, "an SQL statement of the SQLite backend is empty", kv, 1);
            return ERR_INTERNAL;
        }
    }
    *out = r->stmts[id];
    return 0;
}

/* Makes s ready for its next use and lets go of the values bound to it (they may be freed). */
static void stmt_release(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Binds the parameters of p (task_sql.h) to s in order. Strings are SQLITE_STATIC: each call
 * site keeps p and what it points to alive until stmt_release. */
static int bind_params(sqlite3_stmt *s, const struct task_sql_params *p)
{
    int src = SQLITE_OK;
    for (int i = 0; i < p->n && src == SQLITE_OK; i++) {
        const struct task_sql_value *v = &p->v[i];
        if (v->type == TASK_SQL_INT || v->type == TASK_SQL_BOOL) /* a BOOL is 0 or 1 here */
            src = sqlite3_bind_int64(s, i + 1, v->i);
        else if (v->s)
            src = sqlite3_bind_text(s, i + 1, v->s, -1, SQLITE_STATIC);
        else
            src = sqlite3_bind_null(s, i + 1);
    }
    return src;
}

/* The cached statement for slot id with p bound to it. */
static int stmt_bound(struct sqlite_repo *r, int id, const char *sql,
                      const struct task_sql_params *p, sqlite3_stmt **out)
{
    int rc = stmt_get(r, id, sql, out);
    if (rc != 0)
        return rc;
    int src = bind_params(*out, p);
    if (src == SQLITE_OK)
        return 0;
    stmt_release(*out);
    return db_error(r, src, "bind");
}
/* Runs a statement that returns no rows (BEGIN, COMMIT, ...). */
static int exec_stmt(struct sqlite_repo *r, int id, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int rc = stmt_get(r, id, sql, &s);
    if (rc != 0)
        return rc;
    int src = sqlite3_step(s);
    stmt_release(s);
    return src == SQLITE_DONE ? 0 : db_error(r, src, sql);
}

/* ------------------------------------------------------------------ transactions */

/* IMMEDIATE takes the write lock at BEGIN, so a write never fails half-way with SQLITE_BUSY
 * because another connection started writing after our first read. */
static int tx_begin(struct sqlite_repo *r)
{
    return exec_stmt(r, STMT_BEGIN, "BEGIN IMMEDIATE");
}

/* Ends the transaction: COMMIT when rc is 0, ROLLBACK otherwise. Returns the outcome. */
static int tx_end(struct sqlite_repo *r, int rc)
{
    if (rc == 0)
        rc = exec_stmt(r, STMT_COMMIT, "COMMIT");
    /* After some errors SQLite has already rolled back by itself (then autocommit is on). */
    if (rc != 0 && !sqlite3_get_autocommit(r->db))
        exec_stmt(r, STMT_ROLLBACK, "ROLLBACK");
    return rc;
}

/* ------------------------------------------------------------------ rows */

/* Reads the TASK_COLUMNS of the current row into *out (initialised; overwritten on success).
 * The checks are task_sql_row_read's, the same for every SQL backend. */
static int row_read(sqlite3_stmt *s, struct task *out)
{
    struct task_sql_row row = {
        .id = sqlite3_column_int64(s, 0),
        .owner_id = sqlite3_column_int64(s, 1),
        /* NOT NULL columns: NULL text here means SQLite ran out of memory converting */
        .title = (const char *)sqlite3_column_text(s, 2),
        .description = (const char *)sqlite3_column_text(s, 3),
        .status = (const char *)sqlite3_column_text(s, 4),
        .priority = sqlite3_column_int64(s, 5),
        .has_due = sqlite3_column_type(s, 6) != SQLITE_NULL,
        .due_at = sqlite3_column_int64(s, 6),
        .tags = (const char *)sqlite3_column_text(s, 7),
        .tags_len = (size_t)sqlite3_column_bytes(s, 7), /* after _text: the length of that */
        .version = sqlite3_column_int64(s, 8),
        .created_at = sqlite3_column_int64(s, 9),
        .updated_at = sqlite3_column_int64(s, 10),
    };
    return task_sql_row_read(&row, out);
}

/* Runs the statement of slot id with p bound, returning at most one task: reads it into *t,
 * or answers ERR_NOT_FOUND when there was none. With guard, also reads the integer after
 * TASK_COLUMNS (the guarded read's "did If-Match pass"). */
static int one_row(struct sqlite_repo *r, int id, const char *sql, const struct task_sql_params *p,
                   struct task *t, int *guard, const char *what)
{
    sqlite3_stmt *s = NULL;
    int rc = stmt_bound(r, id, sql, p, &s);
    if (rc != 0)
        return rc;
    int src = sqlite3_step(s);
    if (src == SQLITE_ROW) {
        rc = row_read(s, t);
        if (guard)
            *guard = sqlite3_column_int(s, TASK_SQL_NCOLS);
    } else {
        rc = src == SQLITE_DONE ? ERR_NOT_FOUND : db_error(r, src, what);
    }
    stmt_release(s);
    return rc;
}

/* UPDATE, DELETE and the guarded read share the If-Match guard `(?3 = 0 OR version IN (SELECT value
 * FROM json_each(?4)))` (task_sql_task_params sets ?3 and ?4). A guarded write changed no row: says
 * why, from inside the same transaction, so the answer is about the same state the write saw. A row
 * there means the version did not match. */
static int why_unchanged(struct sqlite_repo *r, const struct scope *sc, int64_t id)
{
    static const char sql[] = "SELECT 1 FROM tasks WHERE id = ?1 AND owner_id = ?2";
    struct task_sql_params prm;
    task_sql_task_params(sc, id, NULL, &prm);
    sqlite3_stmt *s = NULL;
    int rc = stmt_bound(r, TASK_SQL_EXISTS, sql, &prm, &s);
    if (rc != 0)
        return rc;
    int src = sqlite3_step(s);
    stmt_release(s);
    if (src == SQLITE_ROW)
        return ERR_PRECONDITION;
    return src == SQLITE_DONE ? ERR_NOT_FOUND : db_error(r, src, "task exists");
}

/* A write of one row in a transaction of its own: runs sql with prm and
 * reads the row it returns into *t. When it returns none: for a guarded write (UPDATE, DELETE
 * of task id in scope `guarded`) why_unchanged says why, from inside the same transaction;
 * otherwise ERR_NOT_FOUND. Called with the lock held. */
static int write_one(struct sqlite_repo *r, int sid, const char *sql,
                     const struct task_sql_params *prm, struct task *t, const struct scope *guarded,
                     int64_t id)
{
    int rc = tx_begin(r);
    if (rc != 0)
        return rc;
    rc = one_row(r, sid, sql, prm, t, NULL, "write task");
    if (rc == ERR_NOT_FOUND && guarded)
        rc = why_unchanged(r, guarded, id);
    return tx_end(r, rc);
}

/* ------------------------------------------------------------------ create / get */

static int sqlite_create(struct task_repo *r, const struct scope *sc, const struct task *in,
                         struct task *out)
{
    static const char sql[] =
        TASK_SQL_INSERT_INTO "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?8)\n"
                             "RETURNING " TASK_COLUMNS;
    struct sqlite_repo *sq = sqlite_of(r);
    struct task t;
    task_init(&t);
    struct task_sql_params prm;
    int rc = task_sql_create_params(sc, in, &prm);
    if (rc == 0) {
        pthread_mutex_lock(&sq->lock);
        rc = write_one(sq, TASK_SQL_INSERT, sql, &prm, &t, NULL, 0);
        pthread_mutex_unlock(&sq->lock);
    }
    if (rc == ERR_NOT_FOUND) { /* INSERT ... RETURNING always returns the row it wrote */
        log_msg(LOG_ERROR, "INSERT INTO tasks returned no row");
        rc = ERR_INTERNAL;
    }
    return task_deliver(rc, &t, out);
}

static int sqlite_get(struct task_repo *r, const struct scope *sc, int64_t id, struct task *out)
{
    static const char sql[] = "SELECT " TASK_COLUMNS " FROM tasks WHERE id = ?1 AND owner_id = ?2";
    struct sqlite_repo *sq = sqlite_of(r);
    struct task_sql_params prm;
    task_sql_task_params(sc, id, NULL, &prm);
    pthread_mutex_lock(&sq->lock);
    int rc = one_row(sq, TASK_SQL_GET, sql, &prm, out, NULL, "get task");
    pthread_mutex_unlock(&sq->lock);
    return rc;
}

/* ------------------------------------------------------------------ update / remove */

/* PATCH naming no field: nothing is written, but If-Match still applies, so this is a read
 * that answers 404 / 412 exactly like the write would. One statement, so one snapshot. */
static int guarded_read(struct sqlite_repo *r, const struct task_sql_params *prm, struct task *t)
{
    static const char sql[] =
        "SELECT " TASK_COLUMNS ", (?3 = 0 OR version IN (SELECT value FROM json_each(?4))) IS 1\n"
        "  FROM tasks WHERE id = ?1 AND owner_id = ?2";
    int passed = 0;
    int rc = one_row(r, TASK_SQL_GET_GUARDED, sql, prm, t, &passed, "get task");
    return rc == 0 && passed != 1 ? ERR_PRECONDITION : rc;
}

static int sqlite_update(struct task_repo *r, const struct scope *sc, int64_t id,
                         const struct task_patch *p, const struct if_match *im, struct task *out)
{
    /* ?1 id, ?2 owner, ?3/?4 If-Match, then a flag and a value per field (task_sql.h):
     * ?5/?6 title, ?7/?8 description, ?9/?10 status, ?11/?12 priority, ?13/?14 due_at,
     * ?15/?16 tags (JSON text), ?17 now. Returns TASK_COLUMNS of the updated row. */
    /* TODO(lab 1.8): Write the UPDATE: only named fields change, version+1, If-Match in WHERE. */
    static const char sql[] = "-- TODO(lab 1.8): UPDATE tasks ...";
    struct sqlite_repo *sq = sqlite_of(r);
    struct task_sql_params prm;
    int rc = task_sql_update_params(sc, id, p, im, &prm);
    if (rc != 0)
        return rc;
    struct task t;
    task_init(&t);
    pthread_mutex_lock(&sq->lock);
    if (p->fields == 0)
        rc = guarded_read(sq, &prm, &t);
    else
        rc = write_one(sq, TASK_SQL_UPDATE, sql, &prm, &t, sc, id);
    pthread_mutex_unlock(&sq->lock);
    return task_deliver(rc, &t, out);
}

static int sqlite_remove(struct task_repo *r, const struct scope *sc, int64_t id,
                         const struct if_match *im)
{
    /* RETURNING tells whether a row went, inside the write itself. */
    static const char sql[] = "DELETE FROM tasks\n"
                              " WHERE id = ?1 AND owner_id = ?2 AND (?3 = 0 OR version IN (SELECT "
                              "value FROM json_each(?4)))\n"
                              "RETURNING " TASK_COLUMNS;
    struct sqlite_repo *sq = sqlite_of(r);
    struct task t;
    task_init(&t);
    struct task_sql_params prm;
    task_sql_task_params(sc, id, im, &prm);
    pthread_mutex_lock(&sq->lock);
    int rc = write_one(sq, TASK_SQL_DELETE, sql, &prm, &t, sc, id);
    pthread_mutex_unlock(&sq->lock);
    task_clear(&t);
    return rc;
}

/* ------------------------------------------------------------------ list */

/* The listing is two statements per sort, the first page and the page after a cursor, each
 * assembled from the fixed fragments below the first time it is used. Parameters
 * (task_sql_list_params, compact): ?1 owner, ?2 status, ?3 priority, ?4 tag, ?5 q,
 * ?6 due_before, ?7 due_after (each NULL when the filter is unset), then on the first page ?8
 * how many rows to return; after a cursor ?8 the id of the row the page starts after, ?9 its
 * sort key (NULL for an undated row in the due_at sorts) and ?10 the row count.
 *
 * Why two statements and not one with "?8 IS NULL OR ...": SQLite plans a statement once, for
 * every value its parameters may take. An OR that is true when ?8 is NULL cannot bound an index
 * range, so such a statement reads the owner's index from the start and skips rows up to the
 * cursor, and a deep page costs as much as OFFSET would. The filters may stay in that form:
 * they only drop rows from the range the sort's index gives. */
static const char list_head[] =
    "SELECT " TASK_COLUMNS " FROM tasks\n"
    " WHERE owner_id = ?1\n"
    "   AND (?2 IS NULL OR status = ?2)\n"
    "   AND (?3 IS NULL OR priority = ?3)\n"
    "   AND (?4 IS NULL OR EXISTS (SELECT 1 FROM json_each(tasks.tags) WHERE value = ?4))\n"
    /* SQLite's lower() folds ASCII only, like task_filter_match; instr() has no wildcards,
     * so %, _ and \ in q are plain characters. */
    "   AND (?5 IS NULL OR instr(lower(title), lower(?5)) > 0\n"
    "                   OR instr(lower(description), lower(?5)) > 0)\n"
    /* A NULL due_at compares as NULL, never true: undated tasks never match a due bound. */
    "   AND (?6 IS NULL OR due_at < ?6)\n"
    "   AND (?7 IS NULL OR due_at > ?7)\n";

#define LIST_SORTS (TASK_SORT_PRIORITY_DESC + 1)

/* "Strictly after (?9, ?8)" for each sort: task_key_compare in SQL, on the key its index holds.
 * A row value comparison (k, id) > (?9, ?8) means k > ?9 OR (k = ?9 AND id > ?8). On a plain
 * column SQLite 3.40 makes its first column the index bound (created_at>?) by itself. On the due
 * key, an expression (coalesce), it bounds nothing, so those two state the bound, k >= ?9, on
 * their own as well (unit test every_sort_pages_by_an_index_range_after_the_cursor). */
/* TODO(lab 1.10): The keyset condition per sort: rows strictly after (?9 key, ?8 id), as a range. */
static const char *const list_after[LIST_SORTS] = {"1", "1", "1", "1", "1", "1"};

/* The order of each sort, on the same keys as its index (so no sort step: the index is read in
 * order, forwards or backwards, and LIMIT stops it). */
static const char *const list_order[LIST_SORTS] = {
    [TASK_SORT_CREATED_AT] = "created_at, id",
    [TASK_SORT_CREATED_AT_DESC] = "created_at DESC, id DESC",
    [TASK_SORT_DUE_AT] = DUE_KEY_ASC ", id",
    [TASK_SORT_DUE_AT_DESC] = DUE_KEY_DESC " DESC, id DESC",
    [TASK_SORT_PRIORITY] = "priority, id",
    [TASK_SORT_PRIORITY_DESC] = "priority DESC, id DESC",
};

/* The text of one listing statement into sql. */
static void list_sql_put(struct buf *sql, enum task_sort sort, bool after)
{
    buf_puts(sql, list_head);
    if (after) {
        buf_puts(sql, "   AND ");
        buf_puts(sql, list_after[sort]);
        buf_puts(sql, "\n");
    }
    buf_puts(sql, " ORDER BY ");
    buf_puts(sql, list_order[sort]);
    buf_puts(sql, after ? "\n LIMIT ?10" : "\n LIMIT ?8");
}

char *task_repo_sqlite_list_sql(enum task_sort sort, bool after)
{
    if ((unsigned)sort >= LIST_SORTS)
        return NULL;
    struct buf sql = BUF_INIT;
    list_sql_put(&sql, sort, after);
    if (!sql.failed)
        return sql.data; /* the caller's now */
    buf_free(&sql);
    return NULL;
}

/* The listing statement of sort, first page or after a cursor, prepared on first use. */
static int list_stmt(struct sqlite_repo *r, enum task_sort sort, bool after, sqlite3_stmt **out)
{
    int id = (enum stmt_id)(STMT_LIST + sort + (after ? LIST_SORTS : 0));
    if (r->stmts[id]) {
        *out = r->stmts[id];
        return 0;
    }
    struct buf sql = BUF_INIT;
    list_sql_put(&sql, sort, after);
    int rc = sql.failed ? ERR_NOMEM : stmt_get(r, id, sql.data, out);
    buf_free(&sql);
    return rc;
}

static int sqlite_list(struct task_repo *r, const struct scope *sc, const struct task_list_query *q,
                       struct task_page *out)
{
    struct sqlite_repo *sq = sqlite_of(r);
    struct task_sql_params prm;
    task_sql_list_params(sc, q, true, &prm);
    struct task_page page;
    task_page_init(&page);
    page.items = calloc(q->limit, sizeof *page.items);
    if (!page.items)
        return ERR_NOMEM;

    pthread_mutex_lock(&sq->lock);
    sqlite3_stmt *s = NULL;
    int rc = list_stmt(sq, q->sort, q->has_after, &s);
    if (rc != 0)
        goto unlock;
    int bound = bind_params(s, &prm);
    if (bound != SQLITE_OK)
        rc = db_error(sq, bound, "bind");
    while (rc == 0) {
        int src = sqlite3_step(s);
        if (src == SQLITE_DONE)
            break;
        if (src != SQLITE_ROW) {
            rc = db_error(sq, src, "list tasks");
            break;
        }
        if (page.count == q->limit) {
            page.has_more = true;
            break;
        }
        task_init(&page.items[page.count]);
        if ((rc = row_read(s, &page.items[page.count])) == 0)
            page.count++;
    }
    stmt_release(s);
unlock:
    pthread_mutex_unlock(&sq->lock);
    return task_page_deliver(rc, &page, out);
}

/* ------------------------------------------------------------------ key, ping, free */

/* Whoever inserts first wins; everyone, in every process, then reads the winner's key. */
static int sqlite_key_fetch(struct task_repo *r, const unsigned char fresh[TASK_REPO_KEY_BYTES],
                            unsigned char got[TASK_REPO_KEY_BYTES])
{
    static const char insert_sql[] =
        "INSERT OR IGNORE INTO settings (name, value) VALUES ('instance_key', ?1)";
    static const char select_sql[] = "SELECT value FROM settings WHERE name = 'instance_key'";
    struct sqlite_repo *sq = sqlite_of(r);
    pthread_mutex_lock(&sq->lock);
    sqlite3_stmt *s = NULL;
    int rc = stmt_get(sq, TASK_SQL_KEY_INSERT, insert_sql, &s);
    if (rc != 0)
        goto done;
    int src = sqlite3_bind_blob(s, 1, fresh, TASK_REPO_KEY_BYTES, SQLITE_STATIC);
    if (src == SQLITE_OK)
        src = sqlite3_step(s);
    stmt_release(s);
    if (src != SQLITE_DONE) {
        rc = db_error(sq, src, "store instance key");
        goto done;
    }
    if ((rc = stmt_get(sq, TASK_SQL_KEY_SELECT, select_sql, &s)) != 0)
        goto done;
    src = sqlite3_step(s);
    if (src == SQLITE_ROW && sqlite3_column_bytes(s, 0) == TASK_REPO_KEY_BYTES &&
        sqlite3_column_blob(s, 0))
        memcpy(got, sqlite3_column_blob(s, 0), TASK_REPO_KEY_BYTES);
    else if (src == SQLITE_ROW || src == SQLITE_DONE)
        rc = ERR_NOT_FOUND;
    else
        rc = db_error(sq, src, "read instance key");
    stmt_release(s);
done:
    pthread_mutex_unlock(&sq->lock);
    return rc;
}

static int sqlite_instance_key(struct task_repo *r, unsigned char key[TASK_REPO_KEY_BYTES])
{
    return task_sql_key_get(&sqlite_of(r)->key, r, sqlite_key_fetch, key);
}

static int sqlite_ping(struct task_repo *r)
{
    struct sqlite_repo *sq = sqlite_of(r);
    pthread_mutex_lock(&sq->lock);
    sqlite3_stmt *s = NULL;
    int rc = stmt_get(sq, STMT_PING, "SELECT 1", &s);
    if (rc == 0) {
        rc = sqlite3_step(s) == SQLITE_ROW ? 0 : ERR_UNAVAILABLE;
        stmt_release(s);
    }
    pthread_mutex_unlock(&sq->lock);
    return rc == 0 ? 0 : ERR_UNAVAILABLE;
}

static void sqlite_free(struct task_repo *r)
{
    struct sqlite_repo *sq = sqlite_of(r);
    for (size_t i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(sq->stmts[i]); /* NULL is a harmless no-op */
    if (sqlite3_close(sq->db) != SQLITE_OK)
        log_msg(LOG_WARN, "the SQLite database did not close cleanly");
    if (sq->locked)
        pthread_mutex_destroy(&sq->lock);
    task_sql_key_clear(&sq->key);
    free(sq);
}

static const struct task_repo_ops sqlite_ops = {
    .name = "sqlite",
    .create = sqlite_create,
    .get = sqlite_get,
    .update = sqlite_update,
    .remove = sqlite_remove,
    .list = sqlite_list,
    .instance_key = sqlite_instance_key,
    .ping = sqlite_ping,
    .free = sqlite_free,
};

/* ------------------------------------------------------------------ open */

/* Settings of the connection, then the schema. Each PRAGMA is about this connection only. */
static int db_setup(struct sqlite_repo *r)
{
    static const char *const pragmas[] = {
        /* WAL: readers do not block the writer and the writer does not block readers. A
         * ":memory:" database stays in its own mode; that is fine. */
        "PRAGMA journal_mode = WAL",
        /* With WAL, NORMAL is still safe against corruption and much faster than FULL. */
        "PRAGMA synchronous = NORMAL",
        "PRAGMA foreign_keys = ON",
    };
    sqlite3_extended_result_codes(r->db, 1);
    int src = sqlite3_busy_timeout(r->db, BUSY_TIMEOUT_MS);
    for (size_t i = 0; src == SQLITE_OK && i < sizeof pragmas / sizeof pragmas[0]; i++)
        src = sqlite3_exec(r->db, pragmas[i], NULL, NULL, NULL);
    if (src != SQLITE_OK)
        return db_error(r, src, "configure connection");
    src = sqlite3_exec(r->db, schema_sql, NULL, NULL, NULL);
    if (src != SQLITE_OK) {
        int rc = db_error(r, src, "create schema");
        if (!sqlite3_get_autocommit(r->db))
            sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return 0;
}

int task_repo_sqlite_open(const char *url, struct task_repo **out)
{
    static const char *const schemes[] = {"sqlite:", NULL};
    static const char usage[] = "a SQLite DATABASE_URL is sqlite:PATH (or sqlite::memory:)";
    int rc = task_repo_open_check(url, schemes, usage, out);
    if (rc != 0)
        return rc;
    const char *path = url + strlen(schemes[0]);
    if (!*path) {
        log_msg(LOG_ERROR, usage);
        return ERR_INVALID;
    }
    /* We serialise every use of the connection ourselves, but SQLite must still be built
     * thread-safe: in single-thread mode it has global state no lock of ours protects. */
    if (!sqlite3_threadsafe()) {
        log_msg(LOG_ERROR, "this SQLite library is built without thread support");
        return ERR_INTERNAL;
    }
    struct sqlite_repo *r = task_repo_alloc(sizeof *r, &sqlite_ops);
    if (!r)
        return ERR_NOMEM;
    r->locked = pthread_mutex_init(&r->lock, NULL) == 0;
    if (!r->locked || task_sql_key_init(&r->key) != 0) {
        sqlite_free(&r->base);
        return ERR_INTERNAL;
    }
    /* NOMUTEX: our mutex already makes every use of the connection exclusive. */
    int src = sqlite3_open_v2(
        path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (src != SQLITE_OK) {
        struct log_kv kv[] = {
            LOG_STR("path", path),
            LOG_STR("sqlite_error", r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(src)),
        };
        log_kv(LOG_ERROR, "cannot open the SQLite database", kv, sizeof kv / sizeof kv[0]);
        rc = (src & 0xff) == SQLITE_NOMEM ? ERR_NOMEM : ERR_IO;
    } else {
        rc = db_setup(r);
    }
    if (rc != 0) {
        sqlite_free(&r->base);
        return rc;
    }
    *out = &r->base;
    return 0;
}
