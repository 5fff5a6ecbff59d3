/* reminders.c — the reminder scan and the reminder job (see reminders.h).
 *
 * The scan is a read of the tasks table across every owner — something no HTTP request ever
 * does, which is why it is SQL here and not a task_repo call (the repository is scoped to one
 * owner by design). It uses the partial index tasks_due_at (migration 0002) and pages with a
 * keyset on (due_at, id), so a thousand tasks due in the same minute are planned in a few
 * bounded queries, not one unbounded result.
 *
 * The scan runs unprepared (PQexecParams on a pooled connection) rather than through
 * pg_conn_exec: it runs once every few seconds, so planning it each time costs nothing worth a
 * statement id, and it cannot collide with the ids jobs_repo.c prepares on the same pool. */
#include "reminders.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "jobs_repo.h"
#include "log.h"
#include "mailer.h"
#include "pg_pool.h"
#include "queue.h"
#include "task.h"
#include "task_repo.h"
#include "timeutil.h"

/* Rows per query of the scan. */
#define SCAN_PAGE 200

/* ------------------------------------------------------------------ the scan */

/* One planned reminder, as read from the tasks table. */
struct due_task {
    int64_t id;
    int64_t owner_id;
    int64_t due_at;
};

static int parse_i64(const char *s, int64_t *out)
{
    char *end = NULL;
    long long x = strtoll(s, &end, 10);
    if (end == s || *end != '\0')
        return ERR_INTERNAL;
    *out = (int64_t)x;
    return 0;
}

/* Up to SCAN_PAGE tasks due in (after, until), not done, after the keyset position
 * (after_due, after_id), in (due_at, id) order — only those whose reminder is not planned yet:
 * with a lead of an hour, every scan would otherwise try to insert again the job of every task
 * due within the hour. The key is the one plan_one writes (jobs.dedupe_key is UNIQUE, so this is
 * an index probe per task); jobs_create's dedupe still decides when two workers race. */
static int scan_page(struct pg_pool *pool, int64_t after, int64_t until, int64_t after_due,
                     int64_t after_id, struct due_task *out, size_t *n)
{
    static const char sql[] = "SELECT t.id, t.owner_id, ts_to_us(t.due_at)\n"
                              "  FROM tasks t\n"
                              " WHERE t.due_at > us_to_ts($1::bigint)\n"
                              "   AND t.due_at < us_to_ts($2::bigint)\n"
                              "   AND t.status <> 'done'\n"
                              "   AND (t.due_at, t.id) > (us_to_ts($3::bigint), $4::bigint)\n"
                              "   AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.dedupe_key =\n"
                              "         'reminder:' || t.id || ':' || ts_to_us(t.due_at))\n"
                              " ORDER BY t.due_at, t.id\n"
                              " LIMIT 200";
    _Static_assert(SCAN_PAGE == 200, "the LIMIT in the SQL above must match SCAN_PAGE");
    char num[4][24];
    const int64_t vals[4] = {after, until, after_due, after_id};
    const char *params[4];
    for (int i = 0; i < 4; i++) {
        snprintf(num[i], sizeof num[i], "%" PRId64, vals[i]);
        params[i] = num[i];
    }
    *n = 0;
    struct pg_conn *c = NULL;
    int rc = pg_pool_acquire(pool, &c);
    if (rc != 0)
        return rc;
    PGresult *res = PQexecParams(pg_conn_raw(c), sql, 4, NULL, params, NULL, NULL, 0);
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pg_conn_error(c, res, "reminder scan");
        PQclear(res);
        pg_pool_release(pool, c);
        return rc;
    }
    pg_pool_release(pool, c);
    int rows = PQntuples(res);
    for (int i = 0; i < rows && i < SCAN_PAGE && rc == 0; i++) {
        rc = parse_i64(PQgetvalue(res, i, 0), &out[i].id);
        if (rc == 0)
            rc = parse_i64(PQgetvalue(res, i, 1), &out[i].owner_id);
        if (rc == 0)
            rc = parse_i64(PQgetvalue(res, i, 2), &out[i].due_at);
        if (rc == 0)
            (*n)++;
    }
    PQclear(res);
    if (rc != 0)
        log_msg(LOG_ERROR, "the reminder scan read a row it cannot parse");
    return rc;
}

/* Creates (once) the reminder job of one task and due date, and queues it when it is new. */
static int plan_one(struct pg_pool *pool, struct queue *q, const struct reminders_options *o,
                    const struct due_task *t, int64_t now_us, bool *created)
{
    char payload[96], dedupe[80];
    snprintf(payload, sizeof payload, "{\"task_id\":%" PRId64 ",\"due_at_us\":%" PRId64 "}", t->id,
             t->due_at);
    snprintf(dedupe, sizeof dedupe, "reminder:%" PRId64 ":%" PRId64, t->id, t->due_at);
    int64_t run_at = t->due_at - o->lead_us > now_us ? t->due_at - o->lead_us : now_us;
    struct job_new n = {.owner_id = t->owner_id,
                        .type = "reminder",
                        .payload = payload,
                        .run_at = run_at,
                        .max_attempts = o->max_attempts,
                        .dedupe_key = dedupe};
    struct job j;
    job_init(&j);
    int rc = jobs_create(pool, &n, &j, created);
    if (rc == 0 && *created) {
        /* The delayed set holds it until run_at: the mail never goes early. */
        int prc = queue_push(q, j.id, run_at / 1000);
        struct log_kv kv[] = {LOG_INT("job_id", j.id), LOG_INT("task_id", t->id),
                              LOG_INT("run_in_ms", (run_at - now_us) / 1000)};
        if (prc != 0)
            log_kv(LOG_WARN, "reminder planned but not queued: the sweeper will queue it", kv, 3);
        else
            log_kv(LOG_INFO, "reminder planned", kv, 3);
    }
    job_clear(&j);
    return rc;
}

int reminders_scan(struct pg_pool *pool, struct queue *q, const struct reminders_options *o,
                   int64_t now_us, size_t *created)
{
    if (created)
        *created = 0;
    if (!pool || !q || !o || o->lead_us < 0 || o->scan_interval_us <= 0)
        return ERR_INVALID;
    struct due_task *page = calloc(SCAN_PAGE, sizeof *page);
    if (!page)
        return ERR_NOMEM;
    /* due_at - lead < now + 2 * interval  <=>  due_at < now + 2 * interval + lead */
    int64_t until = now_us + 2 * o->scan_interval_us + o->lead_us;
    int64_t after_due = now_us, after_id = 0;
    size_t n = 0;
    int rc = 0;
    do {
        rc = scan_page(pool, now_us, until, after_due, after_id, page, &n);
        for (size_t i = 0; i < n && rc == 0; i++) {
            bool fresh = false;
            rc = plan_one(pool, q, o, &page[i], now_us, &fresh);
            if (rc == 0 && fresh && created)
                (*created)++;
        }
        if (n > 0) {
            after_due = page[n - 1].due_at;
            after_id = page[n - 1].id;
        }
    } while (rc == 0 && n == SCAN_PAGE);
    free(page);
    return rc;
}

/* ------------------------------------------------------------------ the job */

/* An integer JSON member that a double holds exactly (|x| < 2^53). */
static bool json_i64(const cJSON *obj, const char *name, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    if (!(fabs(d) < 9007199254740992.0) || floor(d) != d)
        return false;
    *out = (int64_t)d;
    return true;
}

static void skip_log(const char *why, const struct job *j, int64_t task_id)
{
    struct log_kv kv[] = {LOG_STR("reason", why), LOG_INT("job_id", j->id),
                          LOG_INT("task_id", task_id)};
    log_kv(LOG_INFO, "reminder not sent", kv, 3);
}

static int compose(const struct task *t, struct buf *subject, struct buf *body)
{
    char due[RFC3339_MAX];
    if (rfc3339_format(t->due_at, due, sizeof due) != 0)
        return ERR_INTERNAL;
    buf_printf(subject, "Reminder: %s is due %s", t->title, due);
    buf_printf(body,
               "This is a reminder from taskd: a task is coming due.\n"
               "\n"
               "Task:   %" PRId64 "\n"
               "Title:  %s\n"
               "Due:    %s\n"
               "\n",
               t->id, t->title, due);
    if (t->description && t->description[0])
        buf_printf(body, "Description:\n%s\n", t->description);
    else
        buf_puts(body, "(no description)\n");
    return subject->failed || body->failed ? ERR_NOMEM : 0;
}

int reminders_run(struct task_repo *repo, const struct mailer_config *m, const char *to,
                  const struct job *j, char *why, size_t why_len)
{
    struct task t;
    task_init(&t);
    struct buf subject = BUF_INIT, body = BUF_INIT;
    int64_t task_id = 0, due_at_us = 0;
    int rc = ERR_INVALID;
    snprintf(why, why_len, "%s", "");

    cJSON *payload = cJSON_Parse(j->payload ? j->payload : "");
    if (!json_i64(payload, "task_id", &task_id) || !json_i64(payload, "due_at_us", &due_at_us)) {
        /* Retrying cannot fix a payload: the job fails, with a reason a person can act on. */
        snprintf(why, why_len, "the payload is not {\"task_id\":N,\"due_at_us\":N}");
        goto done;
    }
    const struct scope sc = {.owner_id = j->owner_id};
    rc = task_repo_get(repo, &sc, task_id, &t);
    if (rc == ERR_NOT_FOUND) {
        skip_log("the task is gone", j, task_id);
        rc = 0;
        goto done;
    }
    if (rc != 0) {
        snprintf(why, why_len, "task store: %s", err_str(rc));
        goto done;
    }
    if (!t.has_due || t.due_at != due_at_us) {
        skip_log("the task's due date has changed", j, task_id);
        goto done;
    }
    if (t.status == TASK_DONE) {
        skip_log("the task is done", j, task_id);
        goto done;
    }
    if (!m || !m->smtp_url || !to) {
        rc = ERR_INVALID;
        snprintf(why, why_len, "this worker has no SMTP_URL and NOTIFY_EMAIL to send with");
        goto done;
    }
    if ((rc = compose(&t, &subject, &body)) != 0) {
        snprintf(why, why_len, "composing the mail: %s", err_str(rc));
        goto done;
    }
    rc = mailer_send(m, to, subject.data, body.data);
    if (rc != 0) {
        snprintf(why, why_len, "smtp: %s", err_str(rc));
        goto done;
    }
    struct log_kv kv[] = {LOG_INT("job_id", j->id), LOG_INT("task_id", task_id)};
    log_kv(LOG_INFO, "reminder sent", kv, 2);
done:
    cJSON_Delete(payload);
    buf_free(&subject);
    buf_free(&body);
    task_clear(&t);
    return rc;
}
