/* task_repo_memory.c — the "memory:" repository: every task in one array, behind one mutex.
 *
 * It exists so that unit tests (and a quick `DATABASE_URL=memory:` run) have a store with no
 * files and no setup, and so that the interface has a second implementation to keep it honest:
 * the unit suite runs the same tests against this and the SQLite backend. It keeps the full
 * contract of task_repo.h — scopes, If-Match, every filter and sort, keyset paging — using the C
 * definitions of order and filtering from task_repo.c, which is exactly what the SQL of the other
 * backends has to agree with.
 *
 * Rows are kept in id order (ids only grow, and a delete keeps the order), so a lookup by id is
 * a binary search. A listing scans everything: fine for tests, not meant for a million rows.
 * Nothing survives the process; each open is a new, empty store. */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "task_repo.h"
#include "task_repo_factory.h"
#include "timeutil.h"

struct memory_repo {
    struct task_repo base; /* first: a struct task_repo * points here */
    pthread_mutex_t lock;  /* guards everything below */
    struct task *rows;     /* owned; sorted by id */
    size_t count, cap;
    int64_t last_id;
    unsigned char key[TASK_REPO_KEY_BYTES];
};

static struct memory_repo *memory_of(struct task_repo *r)
{
    return (struct memory_repo *)r;
}

/* The row with this id in sc's scope, or NULL. Another owner's row is "not there". */
static struct task *row_find(struct memory_repo *m, const struct scope *sc, int64_t id)
{
    size_t lo = 0, hi = m->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->rows[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < m->count && m->rows[lo].id == id && m->rows[lo].owner_id == sc->owner_id)
        return &m->rows[lo];
    return NULL;
}

/* ERR_PRECONDITION unless im lets a write to t go ahead. */
static int if_match_check(const struct if_match *im, const struct task *t)
{
    switch (im->kind) {
    case IF_MATCH_NONE:
    case IF_MATCH_ANY:
        return 0;
    case IF_MATCH_VERSION:
        for (size_t i = 0; i < im->n; i++)
            if (t->version == im->versions[i])
                return 0;
        return ERR_PRECONDITION;
    case IF_MATCH_NEVER:
        break;
    }
    return ERR_PRECONDITION;
}

/* Hands *src to *out (clearing what out held before) and leaves src empty. */
static void task_move(struct task *out, struct task *src)
{
    task_clear(out);
    *out = *src;
    task_init(src);
}

/* ------------------------------------------------------------------ operations */

static int memory_create(struct task_repo *r, const struct scope *sc, const struct task *in,
                         struct task *out)
{
    struct memory_repo *m = memory_of(r);
    struct task row, copy;
    task_init(&row);
    task_init(&copy);
    int rc = ERR_NOMEM;
    pthread_mutex_lock(&m->lock);
    /* Everything that can fail happens before the row joins the array: once it is there, the
     * write has happened and the only thing left is to hand back the copy we already made. */
    if (m->count == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        struct task *rows = realloc(m->rows, cap * sizeof *rows);
        if (!rows)
            goto done;
        m->rows = rows;
        m->cap = cap;
    }
    if ((rc = task_copy(&row, in)) != 0)
        goto done;
    row.id = m->last_id + 1;
    row.owner_id = sc->owner_id;
    row.version = 1;
    row.created_at = row.updated_at = clock_now_us();
    if ((rc = task_copy(&copy, &row)) != 0)
        goto done;
    m->rows[m->count++] = row;
    task_init(&row); /* the array owns its strings now */
    m->last_id++;
    task_move(out, &copy);
done:
    pthread_mutex_unlock(&m->lock);
    task_clear(&row);
    task_clear(&copy);
    return rc;
}

static int memory_get(struct task_repo *r, const struct scope *sc, int64_t id, struct task *out)
{
    struct memory_repo *m = memory_of(r);
    struct task copy;
    task_init(&copy);
    pthread_mutex_lock(&m->lock);
    const struct task *row = row_find(m, sc, id);
    int rc = row ? task_copy(&copy, row) : ERR_NOT_FOUND;
    pthread_mutex_unlock(&m->lock);
    if (rc == 0)
        task_move(out, &copy);
    return rc;
}

static int memory_update(struct task_repo *r, const struct scope *sc, int64_t id,
                         const struct task_patch *p, const struct if_match *im, struct task *out)
{
    struct memory_repo *m = memory_of(r);
    struct task next, copy;
    task_init(&next);
    task_init(&copy);
    int rc;
    pthread_mutex_lock(&m->lock);
    struct task *row = row_find(m, sc, id);
    /* Not found before precondition: a missing task is a 404 whatever If-Match says. */
    rc = row ? if_match_check(im, row) : ERR_NOT_FOUND;
    if (rc != 0)
        goto done;
    if (p->fields == 0) { /* names nothing: nothing changes, not even the version */
        rc = task_copy(&copy, row);
        goto done;
    }
    /* Build the new row beside the old one, so a failure anywhere leaves the old one intact. */
    if ((rc = task_copy(&next, row)) != 0 || (rc = task_apply_patch(&next, p)) != 0)
        goto done;
    next.version++;
    next.updated_at = clock_now_us();
    if ((rc = task_copy(&copy, &next)) != 0)
        goto done;
    task_move(row, &next);
done:
    pthread_mutex_unlock(&m->lock);
    if (rc == 0)
        task_move(out, &copy);
    task_clear(&next);
    task_clear(&copy);
    return rc;
}

static int memory_remove(struct task_repo *r, const struct scope *sc, int64_t id,
                         const struct if_match *im)
{
    struct memory_repo *m = memory_of(r);
    pthread_mutex_lock(&m->lock);
    struct task *row = row_find(m, sc, id);
    int rc = row ? if_match_check(im, row) : ERR_NOT_FOUND;
    if (rc == 0) {
        size_t at = (size_t)(row - m->rows);
        task_clear(row);
        memmove(row, row + 1, (m->count - at - 1) * sizeof *row);
        m->count--;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int by_sort_order(const void *a, const void *b, void *sort)
{
    struct task_key ka = task_key_of(*(const struct task *const *)a);
    struct task_key kb = task_key_of(*(const struct task *const *)b);
    return task_key_compare(*(const enum task_sort *)sort, &ka, &kb);
}

static int memory_list(struct task_repo *r, const struct scope *sc, const struct task_list_query *q,
                       struct task_page *out)
{
    struct memory_repo *m = memory_of(r);
    struct task_page page;
    task_page_init(&page);
    const struct task **hits = NULL;
    int rc = ERR_NOMEM;
    pthread_mutex_lock(&m->lock);
    if (m->count > 0 && !(hits = malloc(m->count * sizeof *hits)))
        goto done;
    /* Keep the rows of this scope that pass the filters and lie after the cursor ... */
    size_t n = 0;
    for (size_t i = 0; i < m->count; i++) {
        const struct task *t = &m->rows[i];
        if (t->owner_id != sc->owner_id || !task_filter_match(&q->filter, t))
            continue;
        struct task_key k = task_key_of(t);
        if (q->has_after && task_key_compare(q->sort, &k, &q->after) <= 0)
            continue;
        hits[n++] = t;
    }
    /* ... put them in order, and copy out the first `limit`. One more than that means there
     * is a next page. */
    enum task_sort sort = q->sort;
    if (n > 1)
        qsort_r(hits, n, sizeof *hits, by_sort_order, &sort);
    size_t take = n < q->limit ? n : q->limit;
    if (take > 0 && !(page.items = calloc(take, sizeof *page.items)))
        goto done;
    for (size_t i = 0; i < take; i++) {
        task_init(&page.items[i]);
        page.count = i + 1; /* so task_page_clear frees what was copied if the next one fails */
        if ((rc = task_copy(&page.items[i], hits[i])) != 0)
            goto done;
    }
    page.has_more = n > take;
    rc = 0;
done:
    pthread_mutex_unlock(&m->lock);
    free(hits);
    return task_page_deliver(rc, &page, out);
}

static int memory_instance_key(struct task_repo *r, unsigned char key[TASK_REPO_KEY_BYTES])
{
    /* Made once at open and never written again, so it is read without the lock. */
    memcpy(key, memory_of(r)->key, TASK_REPO_KEY_BYTES);
    return 0;
}

static int memory_ping(struct task_repo *r)
{
    (void)r;
    return 0; /* the store is this process: if we can ask, it answers */
}

static void memory_free(struct task_repo *r)
{
    struct memory_repo *m = memory_of(r);
    for (size_t i = 0; i < m->count; i++)
        task_clear(&m->rows[i]);
    free(m->rows);
    pthread_mutex_destroy(&m->lock);
    sodium_memzero(m->key, sizeof m->key);
    free(m);
}

static const struct task_repo_ops memory_ops = {
    .name = "memory",
    .create = memory_create,
    .get = memory_get,
    .update = memory_update,
    .remove = memory_remove,
    .list = memory_list,
    .instance_key = memory_instance_key,
    .ping = memory_ping,
    .free = memory_free,
};

int task_repo_memory_open(const char *url, struct task_repo **out)
{
    static const char *const schemes[] = {"memory:", NULL};
    int rc = task_repo_open_check(url, schemes, "an in-memory DATABASE_URL is memory:", out);
    if (rc != 0)
        return rc;
    struct memory_repo *m = task_repo_alloc(sizeof *m, &memory_ops);
    if (!m)
        return ERR_NOMEM;
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return ERR_INTERNAL;
    }
    /* A fresh key per store: this store forgets its tasks when the process ends, so cursors of
     * an earlier run could not point anywhere anyway. */
    randombytes_buf(m->key, sizeof m->key);
    *out = &m->base;
    return 0;
}
