/* activity.c — the read model behind GET /tasks/{id}/activity (activity.h). */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "activity.h"
#include "buf.h"
#include "err.h"
#include "event.h"
#include "pg_pool.h"
#include "timeutil.h"

/* Statement slots on the activity pool's connections, and on the projector's. */
enum { STMT_RECORD, STMT_LIST, STMT_TASK_EXISTS };

int activity_record(struct pg_conn *c, const struct event *e)
{
    static const char sql[] =
        "INSERT INTO task_activity (event_id, task_id, owner_id, version, type, occurred_at,\n"
        "                           payload)\n"
        "VALUES ($1::uuid, $2::bigint, $3::bigint, $4::bigint, $5, us_to_ts($6::bigint), $7)\n"
        "ON CONFLICT (event_id) DO NOTHING";
    char *payload = NULL;
    size_t len = 0;
    int rc = event_to_json(e, &payload, &len);
    if (rc != 0)
        return rc;
    struct pg_params p = {0};
    snprintf(p.num[1], sizeof p.num[1], "%lld", (long long)e->task_id);
    snprintf(p.num[2], sizeof p.num[2], "%lld", (long long)e->owner_id);
    snprintf(p.num[3], sizeof p.num[3], "%lld", (long long)e->version);
    snprintf(p.num[5], sizeof p.num[5], "%lld", (long long)e->occurred_at);
    const char *v[7] = {e->event_id, p.num[1], p.num[2], p.num[3], event_type_name(e->type),
                        p.num[5],    payload};
    PGresult *res = NULL;
    rc = pg_conn_exec(c, STMT_RECORD, sql, 7, v, &res);
    PQclear(res);
    free(payload);
    return rc;
}

/* Does owner_id have task_id now? Asked only when the feed is empty. */
static int task_exists(struct pg_conn *c, const char *const v[2])
{
    static const char sql[] = "SELECT 1 FROM tasks WHERE id = $1::bigint AND owner_id = $2::bigint";
    PGresult *res = NULL;
    int rc = pg_conn_exec(c, STMT_TASK_EXISTS, sql, 2, v, &res);
    if (rc == 0 && PQntuples(res) == 0)
        rc = ERR_NOT_FOUND;
    PQclear(res);
    return rc;
}

int activity_list(struct pg_pool *pool, int64_t owner_id, int64_t task_id, struct buf *out)
{
    /* The newest ACTIVITY_ITEMS_MAX rows through the index, then put back in time order. A
     * delete has the version of the task's last update, so time orders first. */
    static const char sql[] =
        "SELECT payload FROM (\n"
        "  SELECT payload, occurred_at, version, event_id FROM task_activity\n"
        "   WHERE task_id = $1::bigint AND owner_id = $2::bigint\n"
        "   ORDER BY occurred_at DESC, version DESC, event_id DESC LIMIT $3::integer) last\n"
        " ORDER BY occurred_at, version, event_id";
    struct pg_params p = {0};
    snprintf(p.num[0], sizeof p.num[0], "%lld", (long long)task_id);
    snprintf(p.num[1], sizeof p.num[1], "%lld", (long long)owner_id);
    snprintf(p.num[2], sizeof p.num[2], "%d", ACTIVITY_ITEMS_MAX);
    const char *v[3] = {p.num[0], p.num[1], p.num[2]};
    struct pg_conn *c = NULL;
    PGresult *res = NULL;
    int rc = pg_pool_exec_keep(pool, &c, STMT_LIST, sql, 3, v, &res);
    if (rc != 0)
        return rc;
    int n = PQntuples(res);
    if (n == 0)
        rc = task_exists(c, v);
    /* Each payload is an event the projector serialised itself (event_to_json): JSON already. */
    if (rc == 0)
        rc = buf_puts(out, "{\"items\":[");
    for (int i = 0; rc == 0 && i < n; i++) {
        if (i > 0)
            rc = buf_putc(out, ',');
        if (rc == 0)
            rc = buf_append(out, PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0));
    }
    if (rc == 0)
        rc = buf_puts(out, "]}");
    PQclear(res);
    pg_pool_release(pool, c);
    return rc;
}
