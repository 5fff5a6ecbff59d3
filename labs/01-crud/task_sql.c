/* Lab copy of weeks/01-crud/src/task_sql.c (made by shared/scripts/labgen.sh): write your code here.
 * Each TODO(lab N.M) is one exercise; labs/01-crud/README.md explains them. */
/* task_sql.c — the parameter values and row checks both SQL backends share (task_sql.h). */
#include "task_sql.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "timeutil.h"

static struct task_sql_value sql_null(void)
{
    return (struct task_sql_value){.type = TASK_SQL_NULL};
}

static struct task_sql_value sql_int(int64_t i)
{
    return (struct task_sql_value){.type = TASK_SQL_INT, .i = i};
}

static struct task_sql_value sql_bool(bool b)
{
    return (struct task_sql_value){.type = TASK_SQL_BOOL, .i = b};
}

static struct task_sql_value sql_text(const char *s) /* NULL is SQL NULL */
{
    return s ? (struct task_sql_value){.type = TASK_SQL_TEXT, .s = s} : sql_null();
}

static struct task_sql_value sql_opt_int(bool has, int64_t i)
{
    return has ? sql_int(i) : sql_null();
}

const char *task_sql_versions(const struct if_match *im, struct task_sql_params *p)
{
    size_t len = 0;
    p->versions[len++] = '[';
    for (size_t i = 0; i < im->n && i < IF_MATCH_MAX; i++)
        len += (size_t)snprintf(p->versions + len, sizeof p->versions - len, "%s%lld", i ? "," : "",
                                (long long)im->versions[i]);
    snprintf(p->versions + len, sizeof p->versions - len, "]"); /* fits: see the size's sum */
    return p->versions;
}

/* Appends v as the next parameter; the fixed layouts above never pass TASK_SQL_PARAMS_MAX. */
static void add(struct task_sql_params *p, struct task_sql_value v)
{
    if (p->n < TASK_SQL_PARAMS_MAX)
        p->v[p->n++] = v;
}

/* The tags of t as JSON array text in p->tags (task_tags_to_json's text, copied). */
static int tags_param(const struct task *t, struct task_sql_params *p)
{
    char *json = NULL;
    int rc = task_tags_to_json(t, &json);
    if (rc != 0)
        return rc;
    size_t n = strlen(json);
    if (n < sizeof p->tags) /* always: TASK_SQL_TAGS_JSON_MAX is the worst case */
        memcpy(p->tags, json, n + 1);
    else
        rc = ERR_INVALID;
    cJSON_free(json);
    return rc;
}

int task_sql_create_params(const struct scope *sc, const struct task *in,
                           struct task_sql_params *out)
{
    out->n = 0;
    int rc = tags_param(in, out);
    if (rc != 0)
        return rc;
    add(out, sql_int(sc->owner_id));
    add(out, sql_text(in->title));
    add(out, sql_text(in->description));
    add(out, sql_text(task_status_name(in->status)));
    add(out, sql_int(in->priority));
    add(out, sql_opt_int(in->has_due, in->due_at));
    add(out, sql_text(out->tags));
    add(out, sql_int(clock_now_us()));
    return 0;
}

void task_sql_task_params(const struct scope *sc, int64_t id, const struct if_match *im,
                          struct task_sql_params *out)
{
    out->n = 0;
    add(out, sql_int(id));
    add(out, sql_int(sc->owner_id));
    if (!im)
        return;
    struct task_sql_value *check = &out->v[2], *version = &out->v[3];
    out->n = 4;
    /* TODO(lab 1.9): Set ?3 (check the version?) and ?4 (which ones) for every If-Match kind. */
    *check = sql_bool(false); *version = sql_null();
}

int task_sql_update_params(const struct scope *sc, int64_t id, const struct task_patch *p,
                           const struct if_match *im, struct task_sql_params *out)
{
    task_sql_task_params(sc, id, im, out);
    const struct task *v = &p->values;
    unsigned f = p->fields;
    if (f == 0)
        return 0;
    out->tags[0] = '\0';
    int rc = (f & TASK_F_TAGS) ? tags_param(v, out) : 0;
    if (rc != 0)
        return rc;
    add(out, sql_bool(f & TASK_F_TITLE));
    add(out, sql_text((f & TASK_F_TITLE) ? v->title : NULL));
    add(out, sql_bool(f & TASK_F_DESCRIPTION));
    add(out, sql_text((f & TASK_F_DESCRIPTION) ? v->description : NULL));
    add(out, sql_bool(f & TASK_F_STATUS));
    add(out, sql_text((f & TASK_F_STATUS) ? task_status_name(v->status) : NULL));
    add(out, sql_bool(f & TASK_F_PRIORITY));
    add(out, sql_int(v->priority));
    add(out, sql_bool(f & TASK_F_DUE_AT));
    add(out, sql_opt_int((f & TASK_F_DUE_AT) && v->has_due, v->due_at)); /* NULL clears it */
    add(out, sql_bool(f & TASK_F_TAGS));
    add(out, sql_text((f & TASK_F_TAGS) ? out->tags : NULL));
    add(out, sql_int(clock_now_us()));
    return 0;
}

/* The sort key of the cursor's row: the column the sort orders by (NULL for no due date). */
static struct task_sql_value after_key(enum task_sort sort, const struct task_key *k)
{
    switch (sort) {
    case TASK_SORT_DUE_AT:
    case TASK_SORT_DUE_AT_DESC:
        return sql_opt_int(k->has_due, k->due_at);
    case TASK_SORT_PRIORITY:
    case TASK_SORT_PRIORITY_DESC:
        return sql_int(k->priority);
    case TASK_SORT_CREATED_AT:
    case TASK_SORT_CREATED_AT_DESC:
        break;
    }
    return sql_int(k->created_at);
}

void task_sql_list_params(const struct scope *sc, const struct task_list_query *q, bool compact,
                          struct task_sql_params *out)
{
    const struct task_filter *f = &q->filter;
    out->n = 0;
    add(out, sql_int(sc->owner_id));
    add(out, sql_text(f->has_status ? task_status_name(f->status) : NULL));
    add(out, sql_opt_int(f->has_priority, f->priority));
    add(out, sql_text(f->tag));
    add(out, sql_text(f->q));
    add(out, sql_opt_int(f->has_due_before, f->due_before));
    add(out, sql_opt_int(f->has_due_after, f->due_after));
    if (q->has_after) {
        add(out, sql_int(q->after.id));
        add(out, after_key(q->sort, &q->after));
    } else if (!compact) {
        add(out, sql_null());
        add(out, sql_null());
    }
    add(out, sql_int((int64_t)q->limit + 1));
}

int task_sql_row_read(const struct task_sql_row *row, struct task *out)
{
    struct task t;
    task_init(&t);
    int rc = ERR_NOMEM; /* a NULL title or description: the driver ran out of memory */
    if (!row->title || !row->description || !(t.title = strdup(row->title)) ||
        !(t.description = strdup(row->description)))
        goto done;
    rc = ERR_INTERNAL; /* from here on, a failed check is a row that breaks the schema */
    t.id = row->id;
    t.owner_id = row->owner_id;
    /* The log names the column, the value and the rule it broke: every read goes through here,
     * so a parser that refuses good values (task_status_parse, say) fails every request, and
     * the log line is what says which one. */
    const char *column = NULL, *value = NULL, *rule = NULL;
    char number[24];
    if (!row->status || task_status_parse(row->status, &t.status) != 0) {
        column = "status";
        value = row->status ? row->status : "NULL";
        rule = "task_status_parse() must accept it (todo, in_progress, done)";
    } else if (row->priority < TASK_LOW || row->priority > TASK_HIGH) {
        column = "priority";
        snprintf(number, sizeof number, "%lld", (long long)row->priority);
        value = number;
        rule = "a number from TASK_LOW to TASK_HIGH";
    } else if (!row->tags || task_tags_from_json(row->tags, row->tags_len, &t) != 0) {
        column = "tags";
        value = row->tags ? row->tags : "NULL";
        rule = "task_tags_from_json() must accept it (a JSON array of valid tags)";
    }
    if (column) {
        struct log_kv kv[] = {LOG_INT("task_id", t.id), LOG_STR("column", column),
                              LOG_STR("value", value), LOG_STR("rule", rule)};
        log_kv(LOG_ERROR, "a row of the tasks table breaks the schema's rules", kv,
               sizeof kv / sizeof kv[0]);
        goto done;
    }
    t.priority = (enum task_priority)row->priority;
    t.has_due = row->has_due;
    t.due_at = row->has_due ? row->due_at : 0;
    t.version = row->version;
    t.created_at = row->created_at;
    t.updated_at = row->updated_at;
    rc = 0;
done:
    return task_deliver(rc, &t, out);
}

/* ------------------------------------------------------------------ instance key */

int task_sql_key_init(struct task_sql_key *k)
{
    *k = (struct task_sql_key){0};
    if (pthread_mutex_init(&k->lock, NULL) != 0)
        return ERR_INTERNAL;
    k->ready = true;
    return 0;
}

void task_sql_key_clear(struct task_sql_key *k)
{
    if (k->ready)
        pthread_mutex_destroy(&k->lock);
    sodium_memzero(k->key, sizeof k->key);
    k->ready = k->have = false;
}

int task_sql_key_get(struct task_sql_key *k, struct task_repo *r, task_sql_key_fetch fetch,
                     unsigned char key[TASK_REPO_KEY_BYTES])
{
    unsigned char fresh[TASK_REPO_KEY_BYTES];
    int rc = 0;
    pthread_mutex_lock(&k->lock);
    if (!k->have) {
        randombytes_buf(fresh, sizeof fresh);
        rc = fetch(r, fresh, k->key);
        if (rc == ERR_NOT_FOUND) {
            log_msg(LOG_ERROR, "the settings table holds no usable instance_key (32 bytes)");
            rc = ERR_INTERNAL;
        }
        k->have = rc == 0;
        sodium_memzero(fresh, sizeof fresh);
    }
    if (rc == 0)
        memcpy(key, k->key, TASK_REPO_KEY_BYTES);
    pthread_mutex_unlock(&k->lock);
    return rc;
}
