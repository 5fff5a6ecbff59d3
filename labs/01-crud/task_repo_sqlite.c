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
 *   reason (404 or 412) is read inside the same transaction, so it is the reason at that moment.
 * - If-Match is part of the UPDATE/DELETE itself (compare-and-set in one statement); reading the
 *   version first and writing after would let two clients both pass the check.
 * - Listing is keyset paging: one statement per sort, whose "after the cursor" condition is
 *   exactly task_key_compare (task_repo.c) written in SQL, NULL due dates last included.
 *
 * Timestamps are INTEGER microseconds since the epoch (timeutil.h); tags are a JSON array in a
 * TEXT column, searched with json_each. */
#include <pthread.h>
#include <cjson/cJSON.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "task_repo.h"
#include "task_repo_factory.h"
#include "timeutil.h"

#define BUSY_TIMEOUT_MS 5000

/* Every cached statement has a slot; the six listings come last, one per enum task_sort. */
enum stmt_id {
    STMT_BEGIN,
    STMT_COMMIT,
    STMT_ROLLBACK,
    STMT_INSERT,
    STMT_GET,
    STMT_GET_GUARDED,
    STMT_EXISTS,
    STMT_UPDATE,
    STMT_DELETE,
    STMT_KEY_INSERT,
    STMT_KEY_SELECT,
    STMT_PING,
    STMT_LIST, /* + enum task_sort */
    STMT_COUNT = STMT_LIST + TASK_SORT_PRIORITY_DESC + 1,
};

struct sqlite_repo {
    struct task_repo base; /* first: a struct task_repo * points here */
    pthread_mutex_t lock;  /* one caller at a time on db and everything below */
    sqlite3 *db;
    sqlite3_stmt *stmts[STMT_COUNT]; /* NULL until first used */
    bool have_key;
    unsigned char key[TASK_REPO_KEY_BYTES];
};

/* The columns every statement that returns a task returns, in the order row_read reads. */
#define TASK_COLUMNS                                                                               \
    "id, owner_id, title, description, status, priority, due_at, tags, version, created_at, "      \
    "updated_at"

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
    /* One index per sort, each led by the owner: a listing is one range scan of one index. */
    "CREATE INDEX IF NOT EXISTS tasks_owner_created ON tasks (owner_id, created_at, id);\n"
    "CREATE INDEX IF NOT EXISTS tasks_owner_due ON tasks (owner_id, due_at, id);\n"
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
static int stmt_get(struct sqlite_repo *r, enum stmt_id id, const char *sql, sqlite3_stmt **out)
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

/* Binding stops at the first failure and remembers it, so a run of binds is checked once. The
 * bound strings are SQLITE_STATIC: each call site keeps them alive until stmt_release. */
struct binder {
    sqlite3_stmt *s;
    int rc;
};

static void bind_i64(struct binder *b, int i, int64_t v)
{
    if (b->rc == SQLITE_OK)
        b->rc = sqlite3_bind_int64(b->s, i, v);
}

static void bind_null(struct binder *b, int i)
{
    if (b->rc == SQLITE_OK)
        b->rc = sqlite3_bind_null(b->s, i);
}

static void bind_text(struct binder *b, int i, const char *v) /* NULL binds SQL NULL */
{
    if (b->rc == SQLITE_OK)
        b->rc = v ? sqlite3_bind_text(b->s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(b->s, i);
}

static void bind_opt_i64(struct binder *b, int i, bool has, int64_t v)
{
    if (has)
        bind_i64(b, i, v);
    else
        bind_null(b, i);
}

/* Runs a statement that returns no rows (BEGIN, COMMIT, ...). */
static int exec_stmt(struct sqlite_repo *r, enum stmt_id id, const char *sql)
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

static int column_strdup(sqlite3_stmt *s, int col, char **out)
{
    const unsigned char *v = sqlite3_column_text(s, col);
    if (!v) /* NOT NULL columns: NULL here means SQLite ran out of memory converting */
        return ERR_NOMEM;
    *out = strdup((const char *)v);
    return *out ? 0 : ERR_NOMEM;
}

/* Reads the TASK_COLUMNS of the current row into *out (initialised; overwritten on success). */
static int row_read(sqlite3_stmt *s, struct task *out)
{
    struct task t;
    task_init(&t);
    int rc = column_strdup(s, 2, &t.title);
    if (rc == 0)
        rc = column_strdup(s, 3, &t.description);
    if (rc != 0)
        goto done;
    rc = ERR_INTERNAL; /* from here on, a failed check is a row that breaks the schema */
    t.id = sqlite3_column_int64(s, 0);
    t.owner_id = sqlite3_column_int64(s, 1);
    const char *status = (const char *)sqlite3_column_text(s, 4);
    if (!status || task_status_parse(status, &t.status) != 0)
        goto corrupt;
    int64_t priority = sqlite3_column_int64(s, 5);
    if (priority < TASK_LOW || priority > TASK_HIGH)
        goto corrupt;
    t.priority = (enum task_priority)priority;
    t.has_due = sqlite3_column_type(s, 6) != SQLITE_NULL;
    t.due_at = t.has_due ? sqlite3_column_int64(s, 6) : 0;
    const char *tags = (const char *)sqlite3_column_text(s, 7);
    if (!tags || task_tags_from_json(tags, (size_t)sqlite3_column_bytes(s, 7), &t) != 0)
        goto corrupt;
    t.version = sqlite3_column_int64(s, 8);
    t.created_at = sqlite3_column_int64(s, 9);
    t.updated_at = sqlite3_column_int64(s, 10);
    task_clear(out);
    *out = t;
    return 0;
corrupt : {
    struct log_kv kv[] = {LOG_INT("task_id", t.id)};
    log_kv(LOG_ERROR, "a row of the tasks table breaks the schema's rules", kv, 1);
}
done:
    task_clear(&t);
    return rc;
}

/* Steps s once and reads the row it returns into *t. *found says whether there was one. */
static int step_row(struct sqlite_repo *r, sqlite3_stmt *s, struct task *t, bool *found,
                    const char *what)
{
    *found = false;
    int src = sqlite3_step(s);
    if (src == SQLITE_DONE)
        return 0;
    if (src != SQLITE_ROW)
        return db_error(r, src, what);
    *found = true;
    return row_read(s, t);
}

/* ------------------------------------------------------------------ create / get */

static int sqlite_create(struct task_repo *r, const struct scope *sc, const struct task *in,
                         struct task *out)
{
    static const char sql[] =
        "INSERT INTO tasks (owner_id, title, description, status, priority, due_at, tags,\n"
        "                   version, created_at, updated_at)\n"
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?8)\n"
        "RETURNING " TASK_COLUMNS;
    struct sqlite_repo *sq = sqlite_of(r);
    struct task t;
    task_init(&t);
    char *tags = NULL;
    int rc = task_tags_to_json(in, &tags);
    if (rc != 0)
        return rc;

    pthread_mutex_lock(&sq->lock);
    sqlite3_stmt *s = NULL;
    if ((rc = tx_begin(sq)) != 0)
        goto unlock;
    if ((rc = stmt_get(sq, STMT_INSERT, sql, &s)) != 0)
        goto end;
    struct binder b = {s, SQLITE_OK};
    bind_i64(&b, 1, sc->owner_id);
    bind_text(&b, 2, in->title);
    bind_text(&b, 3, in->description);
    bind_text(&b, 4, task_status_name(in->status));
    bind_i64(&b, 5, in->priority);
    bind_opt_i64(&b, 6, in->has_due, in->due_at);
    bind_text(&b, 7, tags);
    bind_i64(&b, 8, clock_now_us());
    bool found = false;
    rc =
        b.rc == SQLITE_OK ? step_row(sq, s, &t, &found, "insert task") : db_error(sq, b.rc, "bind");
    stmt_release(s);
    if (rc == 0 && !found) { /* INSERT ... RETURNING always returns the row it wrote */
        log_msg(LOG_ERROR, "INSERT INTO tasks returned no row");
        rc = ERR_INTERNAL;
    }
end:
    rc = tx_end(sq, rc);
unlock:
    pthread_mutex_unlock(&sq->lock);
    cJSON_free(tags);
    if (rc == 0) {
        task_clear(out);
        *out = t;
    } else {
        task_clear(&t);
    }
    return rc;
}

static int sqlite_get(struct task_repo *r, const struct scope *sc, int64_t id, struct task *out)
{
    static const char sql[] = "SELECT " TASK_COLUMNS " FROM tasks WHERE id = ?1 AND owner_id = ?2";
    struct sqlite_repo *sq = sqlite_of(r);
    pthread_mutex_lock(&sq->lock);
    sqlite3_stmt *s = NULL;
    int rc = stmt_get(sq, STMT_GET, sql, &s);
    if (rc == 0) {
        struct binder b = {s, SQLITE_OK};
        bind_i64(&b, 1, id);
        bind_i64(&b, 2, sc->owner_id);
        bool found = false;
        rc = b.rc == SQLITE_OK ? step_row(sq, s, out, &found, "get task")
                               : db_error(sq, b.rc, "bind");
        if (rc == 0 && !found)
            rc = ERR_NOT_FOUND;
        stmt_release(s);
    }
    pthread_mutex_unlock(&sq->lock);
    return rc;
}

/* ------------------------------------------------------------------ If-Match */

/* Binds the If-Match guard that UPDATE, DELETE and the guarded read share: their WHERE says
 * `(?3 = 0 OR version = ?4)`, so ?3 = 0 skips the version check and ?3 = 1 demands ?4. */
static void bind_if_match(struct binder *b, const struct if_match *im)
{
    /* TODO(lab 1.9): Bind ?3 (check the version: 0 or 1) and ?4 (which one) for every kind. */
    bind_i64(b, 3, 0);
}

/* A guarded write changed no row: says why, from inside the same transaction, so the answer
 * is about the same state the write saw. A row there means the version did not match. */
static int why_unchanged(struct sqlite_repo *r, const struct scope *sc, int64_t id)
{
    static const char sql[] = "SELECT 1 FROM tasks WHERE id = ?1 AND owner_id = ?2";
    sqlite3_stmt *s = NULL;
    int rc = stmt_get(r, STMT_EXISTS, sql, &s);
    if (rc != 0)
        return rc;
    struct binder b = {s, SQLITE_OK};
    bind_i64(&b, 1, id);
    bind_i64(&b, 2, sc->owner_id);
    int src = b.rc == SQLITE_OK ? sqlite3_step(s) : b.rc;
    stmt_release(s);
    if (src == SQLITE_ROW)
        return ERR_PRECONDITION;
    return src == SQLITE_DONE ? ERR_NOT_FOUND : db_error(r, src, "task exists");
}

/* ------------------------------------------------------------------ update / remove */

/* PATCH naming no field: nothing is written, but If-Match still applies, so this is a read
 * that answers 404 / 412 exactly like the write would. One statement, so one snapshot. */
static int guarded_read(struct sqlite_repo *r, const struct scope *sc, int64_t id,
                        const struct if_match *im, struct task *out)
{
    static const char sql[] = "SELECT " TASK_COLUMNS ", (?3 = 0 OR version = ?4) IS 1\n"
                              "  FROM tasks WHERE id = ?1 AND owner_id = ?2";
    sqlite3_stmt *s = NULL;
    int rc = stmt_get(r, STMT_GET_GUARDED, sql, &s);
    if (rc != 0)
        return rc;
    struct binder b = {s, SQLITE_OK};
    bind_i64(&b, 1, id);
    bind_i64(&b, 2, sc->owner_id);
    bind_if_match(&b, im);
    struct task t;
    task_init(&t);
    bool found = false;
    rc = b.rc == SQLITE_OK ? step_row(r, s, &t, &found, "get task") : db_error(r, b.rc, "bind");
    if (rc == 0 && !found)
        rc = ERR_NOT_FOUND;
    if (rc == 0 && sqlite3_column_int(s, 11) != 1)
        rc = ERR_PRECONDITION;
    stmt_release(s);
    if (rc == 0) {
        task_clear(out);
        *out = t;
    } else {
        task_clear(&t);
    }
    return rc;
}

/* Binds the new values of a patch: for each field a flag (?odd) and the value (?even). */
static int bind_patch(struct binder *b, const struct task_patch *p, char **tags)
{
    const struct task *v = &p->values;
    unsigned f = p->fields;
    *tags = NULL;
    int rc = (f & TASK_F_TAGS) ? task_tags_to_json(v, tags) : 0;
    if (rc != 0)
        return rc;
    bind_i64(b, 5, (f & TASK_F_TITLE) != 0);
    bind_text(b, 6, (f & TASK_F_TITLE) ? v->title : NULL);
    bind_i64(b, 7, (f & TASK_F_DESCRIPTION) != 0);
    bind_text(b, 8, (f & TASK_F_DESCRIPTION) ? v->description : NULL);
    bind_i64(b, 9, (f & TASK_F_STATUS) != 0);
    bind_text(b, 10, (f & TASK_F_STATUS) ? task_status_name(v->status) : NULL);
    bind_i64(b, 11, (f & TASK_F_PRIORITY) != 0);
    bind_i64(b, 12, v->priority);
    bind_i64(b, 13, (f & TASK_F_DUE_AT) != 0);
    bind_opt_i64(b, 14, v->has_due, v->due_at); /* NULL clears it */
    bind_i64(b, 15, (f & TASK_F_TAGS) != 0);
    bind_text(b, 16, *tags);
    bind_i64(b, 17, clock_now_us());
    return 0;
}

static int sqlite_update(struct task_repo *r, const struct scope *sc, int64_t id,
                         const struct task_patch *p, const struct if_match *im, struct task *out)
{
    /* ?1 id, ?2 owner, ?3/?4 If-Match (bind_if_match), then a flag and a value per field:
     * ?5/?6 title, ?7/?8 description, ?9/?10 status, ?11/?12 priority, ?13/?14 due_at,
     * ?15/?16 tags (JSON text), ?17 now. Returns TASK_COLUMNS of the updated row. */
    /* TODO(lab 1.8): Write the UPDATE: only named fields change, version+1, If-Match in WHERE. */
    static const char sql[] = "-- TODO(lab 1.8): UPDATE tasks ...";
    struct sqlite_repo *sq = sqlite_of(r);
    struct task t;
    task_init(&t);
    char *tags = NULL;
    int rc;
    pthread_mutex_lock(&sq->lock);
    if (p->fields == 0) {
        rc = guarded_read(sq, sc, id, im, out);
        goto unlock;
    }
    sqlite3_stmt *s = NULL;
    if ((rc = tx_begin(sq)) != 0)
        goto unlock;
    if ((rc = stmt_get(sq, STMT_UPDATE, sql, &s)) != 0)
        goto end;
    struct binder b = {s, SQLITE_OK};
    bind_i64(&b, 1, id);
    bind_i64(&b, 2, sc->owner_id);
    bind_if_match(&b, im);
    bool found = false;
    if ((rc = bind_patch(&b, p, &tags)) == 0)
        rc = b.rc == SQLITE_OK ? step_row(sq, s, &t, &found, "update task")
                               : db_error(sq, b.rc, "bind");
    stmt_release(s);
    if (rc == 0 && !found)
        rc = why_unchanged(sq, sc, id);
end:
    rc = tx_end(sq, rc);
unlock:
    pthread_mutex_unlock(&sq->lock);
    cJSON_free(tags);
    if (rc == 0 && p->fields != 0) {
        task_clear(out);
        *out = t;
    } else {
        task_clear(&t);
    }
    return rc;
}

static int sqlite_remove(struct task_repo *r, const struct scope *sc, int64_t id,
                         const struct if_match *im)
{
    static const char sql[] = "DELETE FROM tasks\n"
                              " WHERE id = ?1 AND owner_id = ?2 AND (?3 = 0 OR version = ?4)\n"
                              "RETURNING " TASK_COLUMNS;
    struct sqlite_repo *sq = sqlite_of(r);
    struct task t;
    task_init(&t);
    pthread_mutex_lock(&sq->lock);
    sqlite3_stmt *s = NULL;
    int rc = tx_begin(sq);
    if (rc != 0)
        goto unlock;
    if ((rc = stmt_get(sq, STMT_DELETE, sql, &s)) != 0)
        goto end;
    struct binder b = {s, SQLITE_OK};
    bind_i64(&b, 1, id);
    bind_i64(&b, 2, sc->owner_id);
    bind_if_match(&b, im);
    bool found = false;
    rc =
        b.rc == SQLITE_OK ? step_row(sq, s, &t, &found, "delete task") : db_error(sq, b.rc, "bind");
    stmt_release(s);
    if (rc == 0 && !found)
        rc = why_unchanged(sq, sc, id);
end:
    rc = tx_end(sq, rc);
unlock:
    pthread_mutex_unlock(&sq->lock);
    task_clear(&t);
    return rc;
}

/* ------------------------------------------------------------------ list */

/* The listing is one statement per sort, assembled from the fixed fragments below the first
 * time that sort is used. Parameters: ?1 owner, ?2 status, ?3 priority, ?4 tag, ?5 q,
 * ?6 due_before, ?7 due_after (each NULL when the filter is unset), ?8 the id of the row the
 * page starts after and ?9 its sort key (?8 NULL on the first page; ?9 NULL for an undated row
 * in the due_at sorts), ?10 how many rows to return. */
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
    "   AND (?7 IS NULL OR due_at > ?7)\n"
    "   AND ";

/* "Strictly after (?9, ?8)" for each sort: task_key_compare in SQL. A row value comparison
 * (k, id) > (?9, ?8) means k > ?9 OR (k = ?9 AND id > ?8). In the due_at sorts undated rows
 * come last in both directions: after a dated row come the later dated ones and every undated
 * one; after an undated row, only undated ones with a later id (in the sort's direction). */
/* TODO(lab 1.10): The keyset condition per sort: rows strictly after (?9 key, ?8 id). */
static const char *const list_after[] = {"1", "1", "1", "1", "1", "1"};

static const char *const list_order[] = {
    [TASK_SORT_CREATED_AT] = "created_at, id",
    [TASK_SORT_CREATED_AT_DESC] = "created_at DESC, id DESC",
    [TASK_SORT_DUE_AT] = "due_at ASC NULLS LAST, id",
    [TASK_SORT_DUE_AT_DESC] = "due_at DESC NULLS LAST, id DESC",
    [TASK_SORT_PRIORITY] = "priority, id",
    [TASK_SORT_PRIORITY_DESC] = "priority DESC, id DESC",
};

/* The listing statement of sort: built from the fragments above and prepared on first use. */
static int list_stmt(struct sqlite_repo *r, enum task_sort sort, sqlite3_stmt **out)
{
    enum stmt_id id = (enum stmt_id)(STMT_LIST + sort);
    if (r->stmts[id]) {
        *out = r->stmts[id];
        return 0;
    }
    struct buf sql = BUF_INIT;
    buf_puts(&sql, list_head);
    buf_puts(&sql, list_after[sort]);
    buf_puts(&sql, "\n ORDER BY ");
    buf_puts(&sql, list_order[sort]);
    buf_puts(&sql, "\n LIMIT ?10");
    int rc = sql.failed ? ERR_NOMEM : stmt_get(r, id, sql.data, out);
    buf_free(&sql);
    return rc;
}

/* The sort key of `after` for ?9: the column the sort orders by (NULL for an undated task). */
static void bind_after(struct binder *b, const struct task_list_query *q)
{
    if (!q->has_after) {
        bind_null(b, 8);
        bind_null(b, 9);
        return;
    }
    const struct task_key *k = &q->after;
    bind_i64(b, 8, k->id);
    switch (q->sort) {
    case TASK_SORT_CREATED_AT:
    case TASK_SORT_CREATED_AT_DESC:
        bind_i64(b, 9, k->created_at);
        break;
    case TASK_SORT_DUE_AT:
    case TASK_SORT_DUE_AT_DESC:
        bind_opt_i64(b, 9, k->has_due, k->due_at);
        break;
    case TASK_SORT_PRIORITY:
    case TASK_SORT_PRIORITY_DESC:
        bind_i64(b, 9, k->priority);
        break;
    }
}

static int sqlite_list(struct task_repo *r, const struct scope *sc, const struct task_list_query *q,
                       struct task_page *out)
{
    struct sqlite_repo *sq = sqlite_of(r);
    const struct task_filter *f = &q->filter;
    struct task_page page;
    task_page_init(&page);
    page.items = calloc(q->limit, sizeof *page.items);
    if (!page.items)
        return ERR_NOMEM;

    pthread_mutex_lock(&sq->lock);
    sqlite3_stmt *s = NULL;
    int rc = list_stmt(sq, q->sort, &s);
    if (rc != 0)
        goto unlock;
    struct binder b = {s, SQLITE_OK};
    bind_i64(&b, 1, sc->owner_id);
    bind_text(&b, 2, f->has_status ? task_status_name(f->status) : NULL);
    bind_opt_i64(&b, 3, f->has_priority, f->priority);
    bind_text(&b, 4, f->tag);
    bind_text(&b, 5, f->q);
    bind_opt_i64(&b, 6, f->has_due_before, f->due_before);
    bind_opt_i64(&b, 7, f->has_due_after, f->due_after);
    bind_after(&b, q);
    bind_i64(&b, 10, (int64_t)q->limit + 1); /* one extra row says whether a next page exists */
    if (b.rc != SQLITE_OK)
        rc = db_error(sq, b.rc, "bind");
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
    if (rc == 0) {
        task_page_clear(out);
        *out = page;
    } else {
        task_page_clear(&page);
    }
    return rc;
}

/* ------------------------------------------------------------------ key, ping, free */

static int sqlite_instance_key(struct task_repo *r, unsigned char key[TASK_REPO_KEY_BYTES])
{
    /* Whoever inserts first wins; everyone, in every process, then reads the winner's key. */
    static const char insert_sql[] =
        "INSERT OR IGNORE INTO settings (name, value) VALUES ('instance_key', ?1)";
    static const char select_sql[] = "SELECT value FROM settings WHERE name = 'instance_key'";
    struct sqlite_repo *sq = sqlite_of(r);
    unsigned char fresh[TASK_REPO_KEY_BYTES];
    int rc = 0;
    pthread_mutex_lock(&sq->lock);
    if (sq->have_key)
        goto done;
    sqlite3_stmt *s = NULL;
    if ((rc = stmt_get(sq, STMT_KEY_INSERT, insert_sql, &s)) != 0)
        goto done;
    randombytes_buf(fresh, sizeof fresh);
    int src = sqlite3_bind_blob(s, 1, fresh, sizeof fresh, SQLITE_STATIC);
    if (src == SQLITE_OK)
        src = sqlite3_step(s);
    stmt_release(s);
    if (src != SQLITE_DONE) {
        rc = db_error(sq, src, "store instance key");
        goto done;
    }
    if ((rc = stmt_get(sq, STMT_KEY_SELECT, select_sql, &s)) != 0)
        goto done;
    src = sqlite3_step(s);
    if (src == SQLITE_ROW && sqlite3_column_bytes(s, 0) == TASK_REPO_KEY_BYTES &&
        sqlite3_column_blob(s, 0)) {
        memcpy(sq->key, sqlite3_column_blob(s, 0), TASK_REPO_KEY_BYTES);
        sq->have_key = true;
    } else if (src == SQLITE_ROW || src == SQLITE_DONE) {
        log_msg(LOG_ERROR, "the settings table holds no usable instance_key (32 bytes)");
        rc = ERR_INTERNAL;
    } else {
        rc = db_error(sq, src, "read instance key");
    }
    stmt_release(s);
done:
    if (rc == 0)
        memcpy(key, sq->key, TASK_REPO_KEY_BYTES);
    pthread_mutex_unlock(&sq->lock);
    sodium_memzero(fresh, sizeof fresh);
    return rc;
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
    pthread_mutex_destroy(&sq->lock);
    sodium_memzero(sq->key, sizeof sq->key);
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
    static const char prefix[] = "sqlite:";
    if (!out)
        return ERR_INVALID;
    *out = NULL;
    if (!url || strncmp(url, prefix, sizeof prefix - 1) != 0 || !url[sizeof prefix - 1]) {
        log_msg(LOG_ERROR, "a SQLite DATABASE_URL is sqlite:PATH (or sqlite::memory:)");
        return ERR_INVALID;
    }
    const char *path = url + sizeof prefix - 1;
    /* We serialise every use of the connection ourselves, but SQLite must still be built
     * thread-safe: in single-thread mode it has global state no lock of ours protects. */
    if (!sqlite3_threadsafe()) {
        log_msg(LOG_ERROR, "this SQLite library is built without thread support");
        return ERR_INTERNAL;
    }
    if (sodium_init() < 0) {
        log_msg(LOG_ERROR, "libsodium cannot initialise: no source of randomness for the key");
        return ERR_INTERNAL;
    }
    struct sqlite_repo *r = calloc(1, sizeof *r);
    if (!r)
        return ERR_NOMEM;
    if (pthread_mutex_init(&r->lock, NULL) != 0) {
        free(r);
        return ERR_INTERNAL;
    }
    r->base.ops = &sqlite_ops;
    /* NOMUTEX: our mutex already makes every use of the connection exclusive. */
    int src = sqlite3_open_v2(
        path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    int rc = 0;
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
