/* task_sql.h — what every SQL backend computes the same way, whatever its driver.
 *
 * SQLite (week 1) and PostgreSQL (week 2) keep the same columns and number their statements'
 * parameters the same way; only the driver calls differ (sqlite3_bind_* against libpq's text
 * parameters, sqlite3_column_* against PQgetvalue). So the values of the parameters — the
 * If-Match guard, a patch's flags, the listing's filters and keyset position — and the checks
 * on a returned row are written here once, as plain C, and each backend only hands them to its
 * driver. A third SQL backend starts from here, not from a copy of either. */
#ifndef TASKD_TASK_SQL_H
#define TASKD_TASK_SQL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "task_repo.h"

/* The statements every SQL backend prepares once and keeps, by slot; a backend numbers its own
 * after TASK_SQL_STMTS. */
enum task_sql_stmt {
    TASK_SQL_INSERT,
    TASK_SQL_GET,
    TASK_SQL_GET_GUARDED,
    TASK_SQL_EXISTS,
    TASK_SQL_UPDATE,
    TASK_SQL_DELETE,
    TASK_SQL_KEY_INSERT,
    TASK_SQL_KEY_SELECT,
    TASK_SQL_STMTS,
};

/* One parameter before a driver binds it. A BOOL is an integer 0/1 for SQLite and a boolean
 * for PostgreSQL; s is NULL for TASK_SQL_NULL, so NULL and TEXT bind the same way (NULL text). */
enum task_sql_type { TASK_SQL_NULL, TASK_SQL_INT, TASK_SQL_BOOL, TASK_SQL_TEXT };
struct task_sql_value {
    enum task_sql_type type;
    int64_t i;
    const char *s;
};

#define TASK_SQL_PARAMS_MAX 17

/* The longest tags' JSON text: ["t1","t2",...], even if every byte of every tag needed a
 * \u00XX escape (valid tags, of [a-z0-9_-], need none). */
#define TASK_SQL_TAGS_JSON_MAX (2 + TASK_TAGS_MAX * (6 * TASK_TAG_MAX + 3) + 1)
/* "[v1,v2,...]": up to IF_MATCH_MAX versions of at most 19 digits each, commas, brackets, NUL. */
#define TASK_SQL_VERSIONS_JSON_MAX (2 + IF_MATCH_MAX * 20 + 1)

/* The parameters of one statement, v[0] being ?1 / $1. Self-contained: the strings point into
 * the caller's structs or into `tags` here, so there is nothing to free. */
struct task_sql_params {
    struct task_sql_value v[TASK_SQL_PARAMS_MAX];
    int n;
    char tags[TASK_SQL_TAGS_JSON_MAX];
    char versions[TASK_SQL_VERSIONS_JSON_MAX]; /* If-Match's versions as a JSON array */
};

/* The head of every backend's INSERT, naming the columns in the order of the parameters below
 * (version, created_at and updated_at come from the VALUES themselves). */
#define TASK_SQL_INSERT_INTO                                                                       \
    "INSERT INTO tasks (owner_id, title, description, status, priority, due_at, tags,\n"           \
    "                   version, created_at, updated_at)\n"

/* INSERT: 1 owner, 2 title, 3 description, 4 status name, 5 priority, 6 due_at (NULL: none),
 * 7 tags (JSON array text), 8 now (µs). */
int task_sql_create_params(const struct scope *sc, const struct task *in,
                           struct task_sql_params *out);

/* One task of the scope: 1 id, 2 owner. With im (UPDATE, DELETE, the guarded read) also the
 * If-Match guard their WHERE shares, "?3 is false, or version is in the list ?4": 3 whether to
 * check the version at all, 4 the versions If-Match lists, as JSON array text ("[7,1]"; NULL
 * when none can match). Each backend tests membership in its own dialect. */
void task_sql_task_params(const struct scope *sc, int64_t id, const struct if_match *im,
                          struct task_sql_params *out);

/* im's versions as a JSON array in out->versions ("[7,1]"), returned: the one value both
 * dialects can test membership in (SQLite with json_each, PostgreSQL with jsonb containment). */
const char *task_sql_versions(const struct if_match *im, struct task_sql_params *out);

/* UPDATE: task_sql_task_params with im, then a flag and a value per field: 5/6 title,
 * 7/8 description, 9/10 status, 11/12 priority, 13/14 due_at (NULL clears it), 15/16 tags,
 * then 17 now. A patch naming no field writes nothing: only 1-4 are set, for the guarded read
 * that still answers 404 / 412 like the write would. */
int task_sql_update_params(const struct scope *sc, int64_t id, const struct task_patch *p,
                           const struct if_match *im, struct task_sql_params *out);

/* A listing: 1 owner, 2 status, 3 priority, 4 tag, 5 q, 6 due_before, 7 due_after (NULL when
 * the filter is unset), 8 the id of the row the page starts after, 9 its sort key (NULL for an
 * undated task in the due_at sorts), 10 the row count: limit + 1, the extra row saying whether
 * a next page exists. With `compact` and no cursor, 8 and 9 are left out and 8 is the count
 * (a statement must use every parameter it declares, and the first page has no cursor). */
void task_sql_list_params(const struct scope *sc, const struct task_list_query *q, bool compact,
                          struct task_sql_params *out);

/* How many columns TASK_COLUMNS has in every backend: id, owner_id, title, description, status,
 * priority, due_at, tags, version, created_at, updated_at. */
#define TASK_SQL_NCOLS 11

/* The TASK_COLUMNS of one row as the driver read them (strings borrowed from the driver). */
struct task_sql_row {
    int64_t id, owner_id, priority, due_at, version, created_at, updated_at;
    bool has_due;
    const char *title, *description, *status, *tags; /* NULL: the driver had none */
    size_t tags_len;
};

/* Checks a row against the schema's rules and copies it into *out (initialised; overwritten
 * only on success). A row that breaks them was written behind our back: ERR_INTERNAL, logged. */
int task_sql_row_read(const struct task_sql_row *row, struct task *out);

/* The instance key of an SQL store: a row of its settings table, written by whichever instance
 * comes first (so every instance and every restart signs cursors alike), cached once read. */
struct task_sql_key {
    pthread_mutex_t lock;
    bool ready; /* lock initialised */
    bool have;
    unsigned char key[TASK_REPO_KEY_BYTES];
};

/* A backend's half: store fresh unless the settings table holds a key already, then read the
 * one it holds into got. ERR_NOT_FOUND when what it holds is not a key of the right size. */
typedef int (*task_sql_key_fetch)(struct task_repo *r,
                                  const unsigned char fresh[TASK_REPO_KEY_BYTES],
                                  unsigned char got[TASK_REPO_KEY_BYTES]);

int task_sql_key_init(struct task_sql_key *k);   /* 0 or ERR_INTERNAL */
void task_sql_key_clear(struct task_sql_key *k); /* wipes the key; a zeroed k is fine */
/* The cached key, fetching it (with fresh random bytes to offer) on first use. */
int task_sql_key_get(struct task_sql_key *k, struct task_repo *r, task_sql_key_fetch fetch,
                     unsigned char key[TASK_REPO_KEY_BYTES]);

#endif
