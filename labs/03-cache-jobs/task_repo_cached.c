/* Lab copy of weeks/03-cache-jobs/src/task_repo_cached.c (made by shared/scripts/labgen.sh): write your code here.
 * Each TODO(lab N.M) is one exercise; labs/03-cache-jobs/README.md explains them. */
/* task_repo_cached.c — cache-aside as a repository decorator.
 *
 * Stage 3 wraps the PostgreSQL repository in this one: the handlers of week 1 do not change,
 * they still call task_repo_get. A get looks in the cache first (HIT); otherwise it reads the
 * store and puts what it read in the cache for the next reader (MISS). Which of the two it was
 * is noted in the request's locals, which the scope carries, for X-Cache (xcache_http.h). Writes go
 * to the store, then invalidate the entry *before* the handler answers, so a client that got its
 * 200/204 can never read the old task again — from this instance or any other.
 *
 * Why versions and tombstones (cache.h): a reader that read version 3 from the store just
 * before a writer committed version 4 may put version 3 in the cache *after* the writer's
 * invalidation. A plain DELETE cannot stop that. Here the writer leaves a tombstone of version 4,
 * and the late put of version 3 is refused by the cache itself, atomically.
 *
 * The cache is optional and may fail: a get that cannot reach it reads the store (degrade,
 * never fail). A write whose invalidation fails is still a success — the store is the truth —
 * but the entry may now be stale for one TTL, and other instances may still be able to read it
 * (Redis paused or out of memory refuses writes but serves reads; a network fault may cut off
 * this instance only). So before the write answers, it raises the shared fence (cache_fence.h):
 * a row in PostgreSQL, the one thing every instance reaches, that makes every instance stop
 * reading the cache for one TTL and a few seconds (REFILL_SLACK_S: a refill in flight, which no
 * tombstone refuses, asks again just before its put), after which any stale entry has expired.
 * The write waits until every instance has seen the fence (about a second, only on this failure
 * path). Should the database refuse the fence too, only this instance is sure to bypass the
 * cache (logged): the others may serve the old task for up to one TTL. Lists are not cached: a
 * page depends on every row, and invalidating all pages on each write would cost more than it
 * saves. */
#include "task_repo_cached.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "cache_fence.h"
#include "err.h"
#include "log.h"
#include "task.h"
#include "task_repo.h"
#include "timeutil.h"
#include "xcache_http.h"

/* A deleted task's tombstone: no version will ever reach it, so nothing can refill the key. */
#define DELETED_VERSION (INT64_MAX / 2)
#define KEY_MAX         128
/* A refill that found the cache trusted just before a fence went up (its view of the fence up
 * to CACHE_FENCE_WINDOW_US old) still reaches the cache within the backend's deadlines (Redis:
 * about 1.2 s), and its entry lives one TTL from then: a bypass lasts this much longer. */
#define REFILL_SLACK_S 3

struct cached_repo {
    struct task_repo base; /* first: a struct task_repo * points here */
    struct task_repo *inner;
    struct cache *cache;       /* NULL: no cache configured */
    struct cache_fence *fence; /* NULL: this instance alone is fenced after a failed invalidation */
    char ns[64];
    int ttl_s;
    _Atomic int64_t bypass_until_us; /* after a failed invalidation: do not trust the cache */
    atomic_bool cache_down;          /* the last call failed (logged once per outage) */
};

static struct cached_repo *cached_of(struct task_repo *r)
{
    return (struct cached_repo *)r;
}

static void key_of(const struct cached_repo *c, const struct scope *sc, int64_t id,
                   char key[KEY_MAX])
{
    snprintf(key, KEY_MAX, "%s:task:%" PRId64 ":%" PRId64, c->ns, sc->owner_id, id);
}

/* Logs the transitions of the cache between reachable and not, once each. */
static void note_cache(struct cached_repo *c, int rc, const char *op)
{
    bool down = rc == ERR_UNAVAILABLE;
    bool was = atomic_exchange(&c->cache_down, down);
    if (down && !was) {
        struct log_kv kv[] = {LOG_STR("op", op), LOG_STR("cache", c->cache->ops->name)};
        log_kv(LOG_WARN, "the cache does not answer; serving from the database", kv, 2);
    } else if (!down && was) {
        struct log_kv kv[] = {LOG_STR("cache", c->cache->ops->name)};
        log_kv(LOG_INFO, "the cache answers again", kv, 1);
    }
}

/* ------------------------------------------------------------------ the cached form of a task */

/* Every field, timestamps as integers (µs since the epoch fit a double exactly until 2255). */
static char *task_encode(const struct task *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *tags = o ? cJSON_AddArrayToObject(o, "tags") : NULL;
    char *text = NULL;
    if (!tags)
        goto done;
    for (size_t i = 0; i < t->ntags; i++)
        if (!cJSON_AddItemToArray(tags, cJSON_CreateString(t->tags[i])))
            goto done;
    if (!cJSON_AddNumberToObject(o, "id", (double)t->id) ||
        !cJSON_AddNumberToObject(o, "owner_id", (double)t->owner_id) ||
        !cJSON_AddStringToObject(o, "title", t->title) ||
        !cJSON_AddStringToObject(o, "description", t->description) ||
        !cJSON_AddStringToObject(o, "status", task_status_name(t->status)) ||
        !cJSON_AddNumberToObject(o, "priority", t->priority) ||
        !(t->has_due ? cJSON_AddNumberToObject(o, "due_at", (double)t->due_at)
                     : cJSON_AddNullToObject(o, "due_at")) ||
        !cJSON_AddNumberToObject(o, "version", (double)t->version) ||
        !cJSON_AddNumberToObject(o, "created_at", (double)t->created_at) ||
        !cJSON_AddNumberToObject(o, "updated_at", (double)t->updated_at))
        goto done;
    text = cJSON_PrintUnformatted(o);
done:
    cJSON_Delete(o);
    return text;
}

static bool int_of(const cJSON *o, const char *name, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < -9007199254740992.0 ||
        v->valuedouble > 9007199254740992.0)
        return false;
    *out = (int64_t)v->valuedouble;
    return (double)*out == v->valuedouble;
}

static char *str_dup_of(const cJSON *o, const char *name)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
    return s ? strdup(s) : NULL;
}

/* Reads what task_encode wrote. Anything else (an entry written by another version of the
 * code, or by hand) is ERR_INVALID: the caller treats it as a miss. */
static int task_decode(const char *text, struct task *out)
{
    struct task t;
    task_init(&t);
    cJSON *o = cJSON_Parse(text);
    int rc = ERR_INVALID;
    int64_t priority = -1;
    const cJSON *due = cJSON_GetObjectItemCaseSensitive(o, "due_at");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(o, "tags");
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "status"));
    if (!cJSON_IsObject(o) || !int_of(o, "id", &t.id) || !int_of(o, "owner_id", &t.owner_id) ||
        !int_of(o, "version", &t.version) || !int_of(o, "created_at", &t.created_at) ||
        !int_of(o, "updated_at", &t.updated_at) || !int_of(o, "priority", &priority) ||
        priority < TASK_LOW || priority > TASK_HIGH || !status ||
        task_status_parse(status, &t.status) != 0 || !cJSON_IsArray(tags) ||
        cJSON_GetArraySize(tags) > TASK_TAGS_MAX || !(cJSON_IsNull(due) || cJSON_IsNumber(due)))
        goto done;
    t.priority = (enum task_priority)priority;
    t.has_due = cJSON_IsNumber(due);
    if (t.has_due && !int_of(o, "due_at", &t.due_at))
        goto done;
    const cJSON *tag = NULL;
    cJSON_ArrayForEach(tag, tags)
    {
        const char *s = cJSON_GetStringValue(tag);
        size_t n = s ? strlen(s) : 0;
        if (!s || !task_tag_valid(s, n))
            goto done;
        memcpy(t.tags[t.ntags++], s, n + 1);
    }
    t.title = str_dup_of(o, "title");
    t.description = str_dup_of(o, "description");
    if (!t.title || !t.description)
        goto done;
    task_clear(out);
    *out = t;
    task_init(&t);
    rc = 0;
done:
    cJSON_Delete(o);
    task_clear(&t);
    return rc;
}

/* ------------------------------------------------------------------ ops */

static bool cache_trusted(struct cached_repo *c)
{
    return c->cache && clock_now_us() >= atomic_load(&c->bypass_until_us) &&
           (!c->fence || cache_fence_allows(c->fence));
}

/* A write through the decorator (p NULL: a delete). The store first: it is the truth. Then,
 * before the handler answers, the entry: a tombstone of the version just written (of
 * DELETED_VERSION for a delete), so that no reader is served anything older from now on. When the
 * cache refuses that, the write still succeeded, but the old entry may still be there: stop
 * reading the cache until it has expired, here and, through the database, on every instance. */
static int store_write(struct cached_repo *c, const struct scope *sc, int64_t id,
                       const struct task_patch *p, const struct if_match *im, struct task *out)
{
    /* TODO(lab 3.3): Write to the store, then tombstone the entry; if that fails, bypass + fence. */
    log_msg(LOG_ERROR, "TODO(lab 3.3): store_write"); return ERR_INTERNAL;
}

static int cached_get(struct task_repo *r, const struct scope *sc, int64_t id, struct task *out)
{
    struct cached_repo *c = cached_of(r);
    /* TODO(lab 3.1): Cache-aside: a trusted hit is the answer; else the store, then put (TTL). */
    log_msg(LOG_ERROR, "TODO(lab 3.1): cached_get"); return ERR_INTERNAL;
}

static int cached_create(struct task_repo *r, const struct scope *sc, const struct task *in,
                         struct task *out)
{
    return task_repo_create(cached_of(r)->inner, sc, in,
                            out); /* a new id has no entry to invalidate */
}

static int cached_update(struct task_repo *r, const struct scope *sc, int64_t id,
                         const struct task_patch *p, const struct if_match *im, struct task *out)
{
    return store_write(cached_of(r), sc, id, p, im, out);
}

static int cached_remove(struct task_repo *r, const struct scope *sc, int64_t id,
                         const struct if_match *im)
{
    return store_write(cached_of(r), sc, id, NULL, im, NULL);
}

static int cached_list(struct task_repo *r, const struct scope *sc, const struct task_list_query *q,
                       struct task_page *out)
{
    return task_repo_list(cached_of(r)->inner, sc, q, out);
}

static int cached_instance_key(struct task_repo *r, unsigned char key[TASK_REPO_KEY_BYTES])
{
    return task_repo_instance_key(cached_of(r)->inner, key);
}

static int cached_ping(struct task_repo *r)
{
    return task_repo_ping(cached_of(r)->inner); /* readiness: the cache is optional */
}

static void cached_free(struct task_repo *r)
{
    struct cached_repo *c = cached_of(r);
    task_repo_free(c->inner);
    free(c);
}

static const struct task_repo_ops cached_ops = {
    .name = "cached",
    .create = cached_create,
    .get = cached_get,
    .update = cached_update,
    .remove = cached_remove,
    .list = cached_list,
    .instance_key = cached_instance_key,
    .ping = cached_ping,
    .free = cached_free,
};

struct task_repo **task_repo_cached_inner(struct task_repo *r)
{
    return r && r->ops == &cached_ops ? &cached_of(r)->inner : NULL;
}

int task_repo_cached_new(struct task_repo *inner, struct cache *cache, struct cache_fence *fence,
                         const char *ns, int ttl_s, struct task_repo **out)
{
    if (!out || !inner || !ns || ttl_s < 1 || strlen(ns) >= sizeof((struct cached_repo *)0)->ns)
        return ERR_INVALID;
    *out = NULL;
    struct cached_repo *c = calloc(1, sizeof *c);
    if (!c) {
        task_repo_free(inner);
        return ERR_NOMEM;
    }
    c->base.ops = &cached_ops;
    c->inner = inner;
    c->cache = cache;
    c->fence = fence;
    c->ttl_s = ttl_s;
    snprintf(c->ns, sizeof c->ns, "%s", ns);
    atomic_init(&c->bypass_until_us, 0);
    atomic_init(&c->cache_down, false);
    *out = &c->base;
    return 0;
}
