/* jobs_repo.c — the jobs table in PostgreSQL (see jobs_repo.h for a job's life).
 *
 * The API process inserts a job and pushes its id to Redis; a worker claims the id, starts the
 * job here (attempts + 1), does the work and finishes it here. Redis may lose or repeat an id;
 * this table may not, so every rule that makes a job run "exactly once" is a WHERE clause below:
 * - jobs_start takes only a queued or running job, and its RETURNING hands the worker the new
 *   attempt number: the fence.
 * - jobs_succeed and jobs_fail change the row only `WHERE attempts = <fence> AND status =
 *   'running'`. A worker presumed dead whose job was redelivered (and started again, so attempts
 *   moved on) matches nothing when it comes back: its answer is a no-op, ERR_CONFLICT.
 * - An export's CSV is stored in the same transaction as the status that says it exists, so a
 *   client never sees "succeeded" with no file behind it, nor a file of a job that failed.
 *
 * Like task_repo_pg.c, every value is a bound parameter in text form, cast in the SQL
 * (`$1::bigint`), and timestamps cross as microseconds through us_to_ts / ts_to_us (migration
 * 0001). Statement ids start at JOBS_STMT_BASE so that this module can share a pool with other
 * users of pg_conn_exec without two statements claiming one prepared name. */
#include "jobs_repo.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "pg_pool.h"
#include "timeutil.h"

/* The error text a job keeps: enough for a person to see what went wrong, never a whole
 * response body a failing server sent back. */
#define JOB_ERROR_MAX 1000

#define JOBS_STMT_BASE 32
enum jobs_stmt {
    STMT_INSERT = JOBS_STMT_BASE,
    STMT_BY_DEDUPE,
    STMT_GET,
    STMT_START,
    STMT_EXISTS,
    STMT_SUCCEED,
    STMT_SAVE_EXPORT,
    STMT_RETRY,
    STMT_FAIL,
    STMT_EXPORT_CSV,
    STMT_OVERDUE,
    STMT_TOUCH,
    STMT_END,
};
_Static_assert(STMT_END <= PG_POOL_STATEMENTS_MAX, "too many statements for the pool");

/* The columns every statement that returns a job returns, in the order row_read reads. */
#define JOB_COLUMNS                                                                                \
    "id, owner_id, type, status, attempts, max_attempts, payload::text, error, result_url, "       \
    "ts_to_us(run_at), ts_to_us(created_at), ts_to_us(updated_at)"
#define JOB_NCOLS 12

/* ------------------------------------------------------------------ parameters */

/* ------------------------------------------------------------------ the struct */

void job_init(struct job *j)
{
    memset(j, 0, sizeof *j);
}

void job_clear(struct job *j)
{
    if (!j)
        return;
    free(j->payload);
    free(j->error);
    free(j->result_url);
    job_init(j);
}

/* ------------------------------------------------------------------ rows */

/* A copy of a text column, or NULL for SQL NULL. 0 or ERR_NOMEM. */
static int opt_text(const PGresult *res, int row, int col, char **out)
{
    *out = NULL;
    if (PQgetisnull(res, row, col))
        return 0;
    *out = strdup(PQgetvalue(res, row, col));
    return *out ? 0 : ERR_NOMEM;
}

/* Reads the JOB_COLUMNS of row `row` into *out (initialised; overwritten on success). */
static int row_read(const PGresult *res, int row, struct job *out)
{
    if (pg_columns_ok(res, JOB_NCOLS, "jobs") != 0)
        return ERR_INTERNAL;
    struct job j;
    job_init(&j);
    int rc = ERR_NOMEM;
    if (opt_text(res, row, 6, &j.payload) != 0 || opt_text(res, row, 7, &j.error) != 0 ||
        opt_text(res, row, 8, &j.result_url) != 0)
        goto fail;
    rc = ERR_INTERNAL; /* from here on, a failed check is a row that breaks the schema */
    int64_t attempts = 0, max_attempts = 0;
    const struct {
        int col;
        int64_t *dst;
    } ints[] = {{0, &j.id},     {1, &j.owner_id},    {4, &attempts},     {5, &max_attempts},
                {9, &j.run_at}, {10, &j.created_at}, {11, &j.updated_at}};
    bool ok = j.payload != NULL;
    for (size_t i = 0; ok && i < sizeof ints / sizeof ints[0]; i++)
        ok = pg_parse_i64(PQgetvalue(res, row, ints[i].col), ints[i].dst) == 0;
    if (!ok || pg_copy_text(j.type, sizeof j.type, PQgetvalue(res, row, 2)) != 0 ||
        pg_copy_text(j.status, sizeof j.status, PQgetvalue(res, row, 3)) != 0 || attempts < 0 ||
        attempts > INT32_MAX || max_attempts < 1 || max_attempts > INT32_MAX) {
        log_kv(LOG_ERROR, "a row of the jobs table breaks the schema's rules",
               (struct log_kv[]){LOG_INT("job_id", j.id)}, 1);
        goto fail;
    }
    j.attempts = (int)attempts;
    j.max_attempts = (int)max_attempts;
    job_clear(out);
    *out = j;
    return 0;
fail:
    job_clear(&j);
    return rc;
}

/* Runs one statement on a borrowed connection and reads the job it returned into *out:
 * 0, ERR_NOT_FOUND when it returned no row, or the pool's error. */
static int exec_one(struct pg_pool *p, enum jobs_stmt id, const char *sql, int n,
                    const struct pg_params *prm, struct job *out)
{
    PGresult *res = NULL;
    int rc = pg_pool_exec(p, (unsigned)id, sql, n, prm->v, &res);
    if (rc != 0)
        return rc;
    rc = PQntuples(res) < 1 ? ERR_NOT_FOUND : row_read(res, 0, out);
    PQclear(res);
    return rc;
}

/* Runs an UPDATE of one job fenced by its attempt: 0, ERR_CONFLICT when it changed no row (the
 * attempt is no longer current, or the job is finished), or the pool's error. */
static int update_one(struct pg_pool *p, enum jobs_stmt id, const char *sql, int n,
                      const struct pg_params *prm)
{
    PGresult *res = NULL;
    int rc = pg_pool_exec(p, (unsigned)id, sql, n, prm->v, &res);
    if (rc == 0 && strcmp(PQcmdTuples(res), "1") != 0)
        rc = ERR_CONFLICT;
    PQclear(res);
    return rc;
}

/* ------------------------------------------------------------------ create / get */

int jobs_create(struct pg_pool *p, const struct job_new *n, struct job *out, bool *created)
{
    /* ON CONFLICT DO NOTHING makes a duplicate key a no-op instead of an error (and waits for
     * a concurrent insert of the same key to commit or roll back first). */
    static const char insert_sql[] =
        "INSERT INTO jobs (owner_id, type, payload, run_at, max_attempts, dedupe_key)\n"
        "VALUES ($1::bigint, $2, $3::jsonb, coalesce(us_to_ts($4::bigint), now()),\n"
        "        $5::integer, $6)\n"
        "ON CONFLICT (dedupe_key) DO NOTHING\n"
        "RETURNING " JOB_COLUMNS;
    /* A second statement, not a CTE of the first: a statement sees the snapshot it started
     * with, which may predate the commit of the row that made our insert a no-op. */
    static const char by_key_sql[] = "SELECT " JOB_COLUMNS " FROM jobs WHERE dedupe_key = $1";
    if (!p || !n || !n->type || !out || !created || n->max_attempts < 0 ||
        (strcmp(n->type, "export") != 0 && strcmp(n->type, "reminder") != 0))
        return ERR_INVALID;
    *created = false;
    struct pg_params prm = {0};
    pg_param_i64(&prm, 1, n->owner_id);
    pg_param_text(&prm, 2, n->type);
    pg_param_text(&prm, 3, n->payload ? n->payload : "{}");
    if (n->run_at > 0)
        pg_param_i64(&prm, 4, n->run_at);
    else
        pg_param_text(&prm, 4, NULL); /* now(), the database's clock, like created_at */
    pg_param_i64(&prm, 5, n->max_attempts > 0 ? n->max_attempts : 5);
    pg_param_text(&prm, 6, n->dedupe_key);

    struct pg_conn *c = NULL;
    PGresult *res = NULL;
    int rc = pg_pool_exec_keep(p, &c, STMT_INSERT, insert_sql, 6, prm.v, &res);
    if (rc != 0)
        return rc;
    if (PQntuples(res) == 1) {
        rc = row_read(res, 0, out);
        *created = rc == 0;
    } else if (n->dedupe_key) {
        PQclear(res);
        res = NULL;
        const char *v[] = {n->dedupe_key};
        rc = pg_conn_exec(c, STMT_BY_DEDUPE, by_key_sql, 1, v, &res);
        if (rc == 0)
            rc = PQntuples(res) == 1 ? row_read(res, 0, out) : ERR_INTERNAL;
    } else {
        rc = ERR_INTERNAL; /* without a key there is no conflict: the row must come back */
    }
    PQclear(res);
    pg_pool_release(p, c);
    return rc;
}

int jobs_get(struct pg_pool *p, int64_t owner_id, int64_t id, struct job *out)
{
    /* Another owner's job is "not found", exactly like a missing one (API.md: never 403). */
    static const char sql[] =
        "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1::bigint AND owner_id = $2::bigint";
    if (!p || !out)
        return ERR_INVALID;
    struct pg_params prm = {0};
    pg_param_i64(&prm, 1, id);
    pg_param_i64(&prm, 2, owner_id);
    return exec_one(p, STMT_GET, sql, 2, &prm, out);
}

/* ------------------------------------------------------------------ a worker's calls */

int jobs_start(struct pg_pool *p, int64_t id, struct job *out)
{
    /* One statement: two workers given the same id at once both increment, in turn (the row
     * lock orders them), and the later attempt number wins the fence. */
    /* LAB:BEGIN 3.6 One UPDATE starts an unfinished job: running, a new attempt number, the row. */
    static const char sql[] =
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, updated_at = now()\n"
        " WHERE id = $1::bigint AND status IN ('queued', 'running')\n"
        "RETURNING " JOB_COLUMNS;
    /* LAB:END static const char sql[] = "-- TODO(lab 3.6): UPDATE jobs ... RETURNING ..."; */
    static const char exists_sql[] = "SELECT 1 FROM jobs WHERE id = $1::bigint";
    if (!p || !out)
        return ERR_INVALID;
    struct pg_params prm = {0};
    pg_param_i64(&prm, 1, id);
    int rc = exec_one(p, STMT_START, sql, 1, &prm, out);
    if (rc != ERR_NOT_FOUND)
        return rc;
    /* Nothing to start: a finished job (a duplicate delivery) or no job at all. The rare path,
     * so it borrows again rather than holding a connection for it. */
    PGresult *res = NULL;
    rc = pg_pool_exec(p, STMT_EXISTS, exists_sql, 1, prm.v, &res);
    if (rc == 0)
        rc = PQntuples(res) > 0 ? ERR_CONFLICT : ERR_NOT_FOUND;
    PQclear(res);
    return rc;
}

int jobs_succeed(struct pg_pool *p, const struct job *j, const char *result_url, const char *csv,
                 int rows)
{
    /* A success clears the error of an earlier, failed attempt: the job has none now. */
    static const char succeed_sql[] =
        "UPDATE jobs SET status = 'succeeded', result_url = $3, error = NULL,\n"
        "                updated_at = now(), finished_at = now()\n"
        " WHERE id = $1::bigint AND attempts = $2::integer AND status = 'running'";
    /* The owner is copied from the job's row, not from the caller: the file belongs to
     * whoever owns the job, whatever a worker's struct says. */
    static const char export_sql[] =
        "INSERT INTO exports (job_id, owner_id, csv, rows)\n"
        "SELECT id, owner_id, $2, $3::integer FROM jobs WHERE id = $1::bigint";
    if (!p || !j || (csv && rows < 0))
        return ERR_INVALID;
    struct pg_params prm = {0};
    pg_param_i64(&prm, 1, j->id);
    pg_param_i64(&prm, 2, j->attempts);
    pg_param_text(&prm, 3, result_url);
    /* LAB:BEGIN 3.7 In one transaction: the fenced UPDATE (one row, or ERR_CONFLICT), the CSV. */
    struct pg_conn *c = NULL;
    int rc = pg_pool_acquire(p, &c);
    if (rc != 0)
        return rc;
    if ((rc = pg_conn_command(c, "BEGIN")) != 0) {
        pg_pool_release(p, c);
        return rc;
    }
    PGresult *res = NULL;
    rc = pg_conn_exec(c, STMT_SUCCEED, succeed_sql, 3, prm.v, &res);
    if (rc == 0 && strcmp(PQcmdTuples(res), "1") != 0)
        rc = ERR_CONFLICT; /* the fence: another attempt owns the job now, or it is finished */
    PQclear(res);
    res = NULL;
    if (rc == 0 && csv) {
        struct pg_params ex = {0};
        pg_param_i64(&ex, 1, j->id);
        pg_param_text(&ex, 2, csv);
        pg_param_i64(&ex, 3, rows);
        rc = pg_conn_exec(c, STMT_SAVE_EXPORT, export_sql, 3, ex.v, &res);
        PQclear(res);
    }
    if (rc == 0)
        rc = pg_conn_command(c, "COMMIT");
    else
        pg_conn_command(c, "ROLLBACK"); /* if this fails too, release closes the connection */
    pg_pool_release(p, c);
    return rc;
    /* LAB:END log_msg(LOG_ERROR, "TODO(lab 3.7): jobs_succeed"); return ERR_INTERNAL; */
}

/* How many bytes of the first `max` of s end on a character boundary: a cut in the middle of a
 * UTF-8 sequence would make the text invalid, and PostgreSQL refuses invalid UTF-8. */
static size_t utf8_prefix(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--; /* s[n] continues the character that began before it: cut before that one */
    return n;
}

int jobs_fail(struct pg_pool *p, const struct job *j, const char *error, int64_t retry_at)
{
    static const char retry_sql[] =
        "UPDATE jobs SET status = 'queued', run_at = us_to_ts($3::bigint), error = $4,\n"
        "                updated_at = now()\n"
        " WHERE id = $1::bigint AND attempts = $2::integer AND status = 'running'";
    static const char fail_sql[] =
        "UPDATE jobs SET status = 'failed', error = $3, updated_at = now(), finished_at = now()\n"
        " WHERE id = $1::bigint AND attempts = $2::integer AND status = 'running'";
    if (!p || !j || retry_at < 0)
        return ERR_INVALID;
    const char *text = error ? error : "unknown error";
    size_t keep = utf8_prefix(text, JOB_ERROR_MAX);
    char *kept = strndup(text, keep);
    if (!kept)
        return ERR_NOMEM;
    struct pg_params prm = {0};
    pg_param_i64(&prm, 1, j->id);
    pg_param_i64(&prm, 2, j->attempts);
    int n = 3;
    if (retry_at > 0) {
        pg_param_i64(&prm, 3, retry_at);
        pg_param_text(&prm, 4, kept);
        n = 4;
    } else {
        pg_param_text(&prm, 3, kept);
    }
    /* ERR_CONFLICT: a late answer of an attempt that is no longer current. */
    int rc = retry_at > 0 ? update_one(p, STMT_RETRY, retry_sql, n, &prm)
                          : update_one(p, STMT_FAIL, fail_sql, n, &prm);
    free(kept);
    return rc;
}

int jobs_touch(struct pg_pool *p, const struct job *j)
{
    static const char sql[] =
        "UPDATE jobs SET updated_at = now()\n"
        " WHERE id = $1::bigint AND attempts = $2::integer AND status = 'running'";
    if (!p || !j)
        return ERR_INVALID;
    struct pg_params prm = {0};
    pg_param_i64(&prm, 1, j->id);
    pg_param_i64(&prm, 2, j->attempts);
    return update_one(p, STMT_TOUCH, sql, 2, &prm);
}

/* ------------------------------------------------------------------ exports, sweeper */

int jobs_export_csv(struct pg_pool *p, int64_t owner_id, int64_t job_id, char **csv, size_t *len)
{
    /* An exports row exists only once its job succeeded (same transaction), but the status is
     * checked as well: the rule is "succeeded", not "a row happens to be there". */
    static const char sql[] = "SELECT e.csv FROM exports e JOIN jobs j ON j.id = e.job_id\n"
                              " WHERE e.job_id = $1::bigint AND e.owner_id = $2::bigint\n"
                              "   AND j.owner_id = $2::bigint AND j.type = 'export'\n"
                              "   AND j.status = 'succeeded'";
    if (!p || !csv || !len)
        return ERR_INVALID;
    *csv = NULL;
    *len = 0;
    struct pg_params prm = {0};
    pg_param_i64(&prm, 1, job_id);
    pg_param_i64(&prm, 2, owner_id);
    PGresult *res = NULL;
    int rc = pg_pool_exec(p, STMT_EXPORT_CSV, sql, 2, prm.v, &res);
    if (rc != 0)
        return rc;
    if (PQntuples(res) < 1) {
        rc = ERR_NOT_FOUND;
    } else {
        size_t n = (size_t)PQgetlength(res, 0, 0);
        char *copy = malloc(n + 1);
        if (!copy) {
            rc = ERR_NOMEM;
        } else {
            memcpy(copy, PQgetvalue(res, 0, 0), n);
            copy[n] = '\0';
            *csv = copy;
            *len = n;
        }
    }
    PQclear(res);
    return rc;
}

int jobs_overdue(struct pg_pool *p, int64_t before, int64_t *ids, size_t max, size_t *n)
{
    /* The status test matches the partial index jobs_due, so the scan reads unfinished jobs
     * only, however many finished ones the table holds. A running job "without an update since
     * before" is one whose worker died without answering (jobs_start set updated_at). */
    static const char sql[] =
        "SELECT id FROM jobs\n"
        " WHERE status IN ('queued', 'running')\n"
        "   AND ((status = 'queued' AND run_at < us_to_ts($1::bigint))\n"
        "     OR (status = 'running' AND updated_at < us_to_ts($1::bigint)))\n"
        " ORDER BY CASE WHEN status = 'queued' THEN run_at ELSE updated_at END, id\n"
        " LIMIT $2::bigint";
    if (!p || !n || (max > 0 && !ids))
        return ERR_INVALID;
    *n = 0;
    if (max == 0)
        return 0;
    struct pg_params prm = {0};
    pg_param_i64(&prm, 1, before);
    pg_param_i64(&prm, 2, max > INT32_MAX ? INT32_MAX : (int64_t)max);
    PGresult *res = NULL;
    int rc = pg_pool_exec(p, STMT_OVERDUE, sql, 2, prm.v, &res);
    if (rc != 0)
        return rc;
    size_t rows = (size_t)PQntuples(res);
    for (size_t i = 0; i < rows && i < max && rc == 0; i++) {
        rc = pg_parse_i64(PQgetvalue(res, (int)i, 0), &ids[i]);
        if (rc == 0)
            (*n)++;
    }
    PQclear(res);
    if (rc != 0)
        *n = 0;
    return rc;
}

/* ------------------------------------------------------------------ representation */

static bool add_time(cJSON *o, const char *name, int64_t us)
{
    char text[RFC3339_MAX];
    return rfc3339_format(us, text, sizeof text) == 0 && cJSON_AddStringToObject(o, name, text);
}

static bool add_opt_string(cJSON *o, const char *name, const char *s)
{
    return s ? cJSON_AddStringToObject(o, name, s) != NULL : cJSON_AddNullToObject(o, name) != NULL;
}

cJSON *job_to_json(const struct job *j)
{
    if (!j)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    /* API.md's members in its order. owner_id, payload and run_at are the worker's business,
     * not the client's. */
    if (!cJSON_AddNumberToObject(o, "id", (double)j->id) ||
        !cJSON_AddStringToObject(o, "type", j->type) ||
        !cJSON_AddStringToObject(o, "status", j->status) ||
        !cJSON_AddNumberToObject(o, "attempts", j->attempts) ||
        !add_opt_string(o, "error", j->error) || !add_opt_string(o, "result_url", j->result_url) ||
        !add_time(o, "created_at", j->created_at) || !add_time(o, "updated_at", j->updated_at)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
