/* Lab copy of weeks/01-crud/src/task_repo.c (made by shared/scripts/labgen.sh): write your code here.
 * Each TODO(lab N.M) is one exercise; labs/01-crud/README.md explains them. */
/* task_repo.c — the part of the storage interface that is the same for every backend.
 *
 * Callers never reach into the ops table: the wrappers below check the arguments every backend
 * would otherwise have to check (a scope, a sane limit, a known sort), so a backend can trust
 * what it gets. The listing order and the filters are defined here once, as plain C: the
 * in-memory repository uses them directly, and the SQL of the other backends must agree with
 * them exactly (the unit suite runs the same tests against every backend to prove it). */
#include "task_repo.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"

/* ------------------------------------------------------------------ wrappers */

static bool sort_valid(enum task_sort s)
{
    return s >= TASK_SORT_CREATED_AT && s <= TASK_SORT_PRIORITY_DESC;
}

int task_repo_create(struct task_repo *r, const struct scope *sc, const struct task *in,
                     struct task *out)
{
    if (!r || !sc || !in || !out || !in->title || !in->description)
        return ERR_INVALID;
    return r->ops->create(r, sc, in, out);
}

int task_repo_get(struct task_repo *r, const struct scope *sc, int64_t id, struct task *out)
{
    if (!r || !sc || !out)
        return ERR_INVALID;
    return r->ops->get(r, sc, id, out);
}

int task_repo_update(struct task_repo *r, const struct scope *sc, int64_t id,
                     const struct task_patch *p, const struct if_match *im, struct task *out)
{
    if (!r || !sc || !p || !out)
        return ERR_INVALID;
    /* A patch that names a string field must carry it (task_patch_from_json sees to that). */
    if (((p->fields & TASK_F_TITLE) && !p->values.title) ||
        ((p->fields & TASK_F_DESCRIPTION) && !p->values.description))
        return ERR_INVALID;
    const struct if_match none = {.kind = IF_MATCH_NONE};
    return r->ops->update(r, sc, id, p, im ? im : &none, out);
}

int task_repo_remove(struct task_repo *r, const struct scope *sc, int64_t id,
                     const struct if_match *im)
{
    if (!r || !sc)
        return ERR_INVALID;
    const struct if_match none = {.kind = IF_MATCH_NONE};
    return r->ops->remove(r, sc, id, im ? im : &none);
}

int task_repo_list(struct task_repo *r, const struct scope *sc, const struct task_list_query *q,
                   struct task_page *out)
{
    if (!r || !sc || !q || !out || q->limit < 1 || q->limit > TASK_LIST_LIMIT_MAX ||
        !sort_valid(q->sort))
        return ERR_INVALID;
    return r->ops->list(r, sc, q, out);
}

int task_repo_instance_key(struct task_repo *r, unsigned char key[TASK_REPO_KEY_BYTES])
{
    if (!r || !key)
        return ERR_INVALID;
    return r->ops->instance_key(r, key);
}

int task_repo_ping(struct task_repo *r)
{
    if (!r)
        return ERR_UNAVAILABLE;
    return r->ops->ping(r);
}

void task_repo_free(struct task_repo *r)
{
    if (r)
        r->ops->free(r);
}

/* ------------------------------------------------------------------ backends' common steps */

int task_repo_open_check(const char *url, const char *const schemes[], const char *usage,
                         struct task_repo **out)
{
    if (!out)
        return ERR_INVALID;
    *out = NULL;
    bool known = false;
    for (size_t i = 0; url && schemes[i] && !known; i++)
        known = strncmp(url, schemes[i], strlen(schemes[i])) == 0;
    if (!known) {
        log_msg(LOG_ERROR, usage);
        return ERR_INVALID;
    }
    return 0;
}

void *task_repo_alloc(size_t size, const struct task_repo_ops *ops)
{
    struct task_repo *r = calloc(1, size);
    if (r)
        r->ops = ops;
    return r;
}

/* ------------------------------------------------------------------ pages */

void task_page_init(struct task_page *p)
{
    p->items = NULL;
    p->count = 0;
    p->has_more = false;
}

void task_page_clear(struct task_page *p)
{
    for (size_t i = 0; i < p->count; i++)
        task_clear(&p->items[i]);
    free(p->items);
    task_page_init(p);
}

int task_deliver(int rc, struct task *t, struct task *out)
{
    if (rc == 0) {
        task_clear(out);
        *out = *t;
        task_init(t); /* out owns the strings now */
    } else {
        task_clear(t);
    }
    return rc;
}

int task_page_deliver(int rc, struct task_page *page, struct task_page *out)
{
    if (rc == 0) {
        task_page_clear(out);
        *out = *page;
        task_page_init(page);
    } else {
        task_page_clear(page);
    }
    return rc;
}

/* ------------------------------------------------------------------ order */

struct task_key task_key_of(const struct task *t)
{
    return (struct task_key){
        .id = t->id,
        .created_at = t->created_at,
        .has_due = t->has_due,
        .due_at = t->has_due ? t->due_at : 0, /* a missing date has no value to compare */
        .priority = (int)t->priority,
    };
}

static int cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b); /* not a - b: that overflows for far-apart values */
}

int task_key_compare(enum task_sort sort, const struct task_key *a, const struct task_key *b)
{
    /* TODO(lab 1.7): Order by sort: key, then id, both in its direction; no due_at is last. */
    return 0;
}

/* ------------------------------------------------------------------ filters */

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* True when needle occurs in hay, ignoring ASCII case. Other bytes (including every byte of a
 * multi-byte UTF-8 sequence) compare exactly, which is what SQLite's lower() does too, so both
 * backends agree. Nothing in needle is special: %, _ and \ are just characters. */
static bool contains_ascii_ci(const char *hay, const char *needle)
{
    if (!hay)
        return false;
    size_t n = strlen(needle);
    for (const char *h = hay;; h++) {
        size_t i = 0;
        while (i < n && h[i] &&
               ascii_lower((unsigned char)h[i]) == ascii_lower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
        if (!*h)
            return false;
    }
}

static bool has_tag(const struct task *t, const char *tag)
{
    for (size_t i = 0; i < t->ntags && i < TASK_TAGS_MAX; i++)
        if (strcmp(t->tags[i], tag) == 0)
            return true;
    return false;
}

bool task_filter_match(const struct task_filter *f, const struct task *t)
{
    if (f->has_status && t->status != f->status)
        return false;
    if (f->has_priority && t->priority != f->priority)
        return false;
    if (f->tag && !has_tag(t, f->tag))
        return false;
    if (f->q && !contains_ascii_ci(t->title, f->q) && !contains_ascii_ci(t->description, f->q))
        return false;
    /* The due bounds are strict, and a task without a date is neither before nor after one. */
    if (f->has_due_before && !(t->has_due && t->due_at < f->due_before))
        return false;
    if (f->has_due_after && !(t->has_due && t->due_at > f->due_after))
        return false;
    return true;
}

/* ------------------------------------------------------------------ tags as JSON text */

int task_tags_to_json(const struct task *t, char **out)
{
    *out = NULL;
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return ERR_NOMEM;
    int rc = ERR_NOMEM;
    for (size_t i = 0; i < t->ntags && i < TASK_TAGS_MAX; i++) {
        cJSON *s = cJSON_CreateString(t->tags[i]);
        if (!s || !cJSON_AddItemToArray(arr, s)) {
            cJSON_Delete(s);
            goto done;
        }
    }
    if ((*out = cJSON_PrintUnformatted(arr)) != NULL)
        rc = 0;
done:
    cJSON_Delete(arr);
    return rc;
}

int task_tags_from_json(const char *text, size_t len, struct task *t)
{
    cJSON *arr = cJSON_ParseWithLength(text, len);
    int rc = ERR_INTERNAL;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > TASK_TAGS_MAX)
        goto done;
    t->ntags = 0;
    const cJSON *item = NULL;
    cJSON_ArrayForEach(item, arr)
    {
        const char *s = cJSON_GetStringValue(item);
        size_t n = s ? strlen(s) : 0;
        if (!s || !task_tag_valid(s, n)) /* also bounds n to TASK_TAG_MAX */
            goto done;
        memcpy(t->tags[t->ntags], s, n + 1);
        t->ntags++;
    }
    rc = 0;
done:
    cJSON_Delete(arr);
    return rc;
}
