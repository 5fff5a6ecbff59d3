/* notifier.c — the notifier's handler (notifier.h): look up the owner, send one mail. */
#include "notifier.h"

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "consumer.h"
#include "err.h"
#include "event.h"
#include "log.h"
#include "pg_pool.h"
#include "timeutil.h"

/* Statement slots on the notifier's pool: 10..19 are the consumer loop's. */
enum { STMT_OWNER_EMAIL = 20 };

/* The owner's address into out; ERR_NOT_FOUND for owner 0 or a user deleted or unknown. */
static int owner_email(struct pg_pool *pool, int64_t owner_id, char out[MAILER_ADDRESS_MAX + 1])
{
    static const char sql[] = "SELECT email FROM users\n"
                              " WHERE id = $1::bigint AND deleted_at IS NULL";
    if (owner_id <= 0)
        return ERR_NOT_FOUND;
    struct pg_params p = {0};
    pg_param_i64(&p, 1, owner_id);
    PGresult *res = NULL;
    int rc = pg_pool_exec(pool, STMT_OWNER_EMAIL, sql, 1, p.v, &res);
    if (rc != 0)
        return rc;
    if (PQntuples(res) == 0)
        rc = ERR_NOT_FOUND;
    else if (pg_copy_text(out, MAILER_ADDRESS_MAX + 1, PQgetvalue(res, 0, 0)) != 0)
        rc = ERR_INTERNAL;
    PQclear(res);
    return rc;
}

/* A string member of the event's task, or `fallback` when it is missing or not a string: the
 * task object came over the wire and is only as good as its producer. */
static const char *task_str(const struct event *e, const char *name, const char *fallback)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e->task, name);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : fallback;
}

int notifier_compose(const struct event *e, struct buf *subject, struct buf *body)
{
    static const char *const verbs[] = {"created", "updated", "deleted"};
    const char *verb = (unsigned)e->type < 3 ? verbs[e->type] : "changed";
    const char *title = task_str(e, "title", "(untitled)");
    char when[RFC3339_MAX] = "";
    if (rfc3339_format(e->occurred_at, when, sizeof when) != 0)
        snprintf(when, sizeof when, "(unknown time)");
    int rc = buf_printf(subject, "Task %lld %s: %s", (long long)e->task_id, verb, title);
    if (rc == 0)
        rc = buf_printf(body,
                        "Your task %lld was %s at %s.\n\n"
                        "Title:    %s\n"
                        "Status:   %s\n"
                        "Priority: %s\n"
                        "Due:      %s\n"
                        "Version:  %lld\n\n"
                        "Event %s (%s).\n",
                        (long long)e->task_id, verb, when, title, task_str(e, "status", "-"),
                        task_str(e, "priority", "-"), task_str(e, "due_at", "-"),
                        (long long)e->version, e->event_id, event_type_name(e->type));
    return rc == 0 && !subject->failed && !body->failed ? 0 : ERR_NOMEM;
}

static int notify(void *ctx, struct pg_conn *c, const struct event *e)
{
    (void)c; /* not transactional: NULL */
    struct notifier *n = ctx;
    char to[MAILER_ADDRESS_MAX + 1];
    int rc = owner_email(n->pool, e->owner_id, to);
    if (rc == ERR_NOT_FOUND)
        return 0; /* no one to tell: done */
    if (rc != 0)
        return rc;
    if (!mailer_address_valid(to)) {
        struct log_kv kv[] = {LOG_INT("owner_id", e->owner_id), LOG_STR("event_id", e->event_id)};
        log_kv(LOG_WARN, "the owner's address cannot be mailed: nothing sent", kv, 2);
        return 0;
    }
    struct buf subject = BUF_INIT, body = BUF_INIT;
    rc = notifier_compose(e, &subject, &body);
    /* The Message-ID is the event_id: a repeat after a crash is recognisably the same mail. */
    if (rc == 0)
        rc = mailer_send_id(&n->mail, to, subject.data, body.data, e->event_id);
    buf_free(&subject);
    buf_free(&body);
    return rc;
}

void notifier_handler(struct notifier *n, const char *name, struct consumer_handler *h)
{
    *h =
        (struct consumer_handler){.name = name, .transactional = false, .handle = notify, .ctx = n};
}
