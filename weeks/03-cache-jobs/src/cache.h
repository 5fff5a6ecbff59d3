/* cache.h — a shared key-value cache with versioned entries, as an interface.
 *
 * Week 3 puts a cache in front of the task store (task_repo_cached.c) and must never serve a
 * stale task after a write has answered, even when a slow reader tries to refill the cache with
 * what it read before the write. Plain "delete on write" cannot promise that: the slow reader's
 * SET lands after the DELETE. So every entry carries the task's version, a write leaves a
 * *tombstone* with the version it wrote, and a refill is stored only if it is not older than
 * what the cache already knows. Two backends implement the same operations atomically: Redis
 * (a Lua script, cache_redis.c) and memcached (gets/cas, cache_memcached.c).
 *
 * Every call is safe from several threads. A backend that cannot reach its server answers
 * ERR_UNAVAILABLE quickly (the caller then degrades to the database) and reconnects by itself
 * on a later call. */
#ifndef TASKD_CACHE_H
#define TASKD_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cache;

struct cache_ops {
    const char *name; /* "redis", "memcached" */
    /* The value under key when it is a value (not a tombstone): 0 with *val (malloc'd,
     * NUL-terminated; the caller frees it) and *version; ERR_NOT_FOUND on a miss or a
     * tombstone; ERR_UNAVAILABLE when the server does not answer. */
    int (*get)(struct cache *c, const char *key, char **val, int64_t *version);
    /* Stores val as the value of version `version` for ttl_s seconds, unless the key holds a
     * value with a version >= version or a tombstone with a version > version. *stored (may be
     * NULL) says whether it was stored. 0 or ERR_UNAVAILABLE. */
    int (*put)(struct cache *c, const char *key, int64_t version, const char *val, int ttl_s,
               bool *stored);
    /* Replaces the key by a tombstone of `version` for ttl_s seconds, unless it holds a value
     * of the same or a higher version or a tombstone of a higher one: afterwards only values
     * of version >= `version` can be stored. 0, or ERR_UNAVAILABLE (also when memcached's
     * compare-and-swap keeps losing races: the caller must then assume the entry is stale). */
    int (*invalidate)(struct cache *c, const char *key, int64_t version, int ttl_s);
    /* 0 when the server answers, ERR_UNAVAILABLE otherwise (readiness' optional check). */
    int (*ping)(struct cache *c);
    void (*free)(struct cache *c);
};

/* The common head of every backend; backends embed it first. */
struct cache {
    const struct cache_ops *ops;
};

/* Opens a redis:// URL (redis_conn.h) or "memcached://HOST[:PORT]". No connection is required at
 * open (the cache is optional: it may come up later). ERR_INVALID for another URL. */
int cache_open(const char *url, struct cache **out);
int cache_redis_open(const char *url, struct cache **out);
int cache_memcached_open(const char *url, struct cache **out);

/* Wrappers over ops (c may not be NULL). */
int cache_get(struct cache *c, const char *key, char **val, int64_t *version);
int cache_put(struct cache *c, const char *key, int64_t version, const char *val, int ttl_s,
              bool *stored);
int cache_invalidate(struct cache *c, const char *key, int64_t version, int ttl_s);
int cache_ping(struct cache *c);
void cache_free(struct cache *c); /* NULL is a no-op */

/* For the backends, which store an entry in the same form: "v <version>\n<value>" for a value,
 * "t <version>" for a tombstone. Parses the n bytes at s: false when they are not an entry (a
 * foreign item, which a backend treats as absent). */
struct cache_entry {
    bool tombstone;
    int64_t version;
    size_t value_at; /* a value's first byte in s */
};
bool cache_entry_parse(const char *s, size_t n, struct cache_entry *out);

#endif
