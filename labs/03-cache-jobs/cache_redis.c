/* Lab copy of weeks/03-cache-jobs/src/cache_redis.c (made by shared/scripts/labgen.sh): write your code here.
 * Each TODO(lab N.M) is one exercise; labs/03-cache-jobs/README.md explains them. */
/* cache_redis.c — the versioned cache of cache.h on Redis (hiredis), for task_repo_cached.c.
 *
 * An entry is one Redis string: "v <version>\n<value>" for a value, "t <version>" for a
 * tombstone, with the TTL on the key (SET ... EX). get is a plain GET. put and invalidate must
 * read the entry, compare versions and write, and nothing may happen in between: each is a Lua
 * script, which Redis runs as one command while every other client waits. The scripts are
 * called by their SHA1 (redis_conn_eval), so a call sends the key and arguments, not the script.
 *
 * Connections are week 3's one Redis client (redis_conn.h) with its default deadlines: a small
 * pool lent one call at a time, with a deadline on every connect and command, so a dead or stalled
 * Redis costs a caller at most about half a second, never a hang; while Redis is down, one call a
 * second goes through to probe it and the others fail fast. The cache answers ERR_UNAVAILABLE for
 * every kind of failure, refusals included: task_repo_cached.c then serves from the database. */
#include "cache.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "redis_conn.h"

#define CONNECTIONS 8

/* Versions travel as decimal strings and are compared as such: the shorter is the smaller,
 * then byte order decides. That is exact for every non-negative int64 (cache.c refuses
 * negative ones), where Lua's numbers, doubles, are exact only up to 2^53. */
#define LUA_PRELUDE                                                                                \
    "local function older(a, b)\n"                                                                 \
    "  if #a ~= #b then return #a < #b end\n"                                                      \
    "  return a < b\n"                                                                             \
    "end\n"                                                                                        \
    "local kind, ver\n"                                                                            \
    "local cur = redis.call('GET', KEYS[1])\n"                                                     \
    "if cur then kind, ver = string.match(cur, '^([vt]) (%d+)') end\n"

/* KEYS[1] = key, ARGV = version, value, ttl_s. Stored (1) unless the key holds a value of the
 * same or a newer version, or a tombstone of a newer one. An entry that is neither (ver is nil)
 * is not ours and is overwritten. */
static const char PUT_LUA[] = LUA_PRELUDE
    /* TODO(lab 3.2): Refuse the refill when the key holds a value or tombstone it must not undo. */
    "redis.call('SET', KEYS[1], 'v ' .. ARGV[1] .. '\\n' .. ARGV[2], 'EX', ARGV[3])\n"
    "return 1\n";

/* KEYS[1] = key, ARGV = version, ttl_s. Written (1) unless the key already holds an entry of
 * this version or a newer one: a value of exactly this version is what the write produced, and
 * stays. */
static const char INVALIDATE_LUA[] =
    LUA_PRELUDE "if ver and not older(ver, ARGV[1]) then return 0 end\n"
                "redis.call('SET', KEYS[1], 't ' .. ARGV[1], 'EX', ARGV[2])\n"
                "return 1\n";

enum script { SCRIPT_PUT, SCRIPT_INVALIDATE, SCRIPT_COUNT };

static const char *const script_source[] = {PUT_LUA, INVALIDATE_LUA, NULL};

struct cache_redis {
    struct cache base; /* first: a struct cache * is a struct cache_redis * */
    struct redis_conn *redis;
};

/* Whatever went wrong, the cache is unavailable for this call: an error reply (OOM, a command
 * Redis refuses) leaves the caller as helpless as a lost connection, and redis_conn logged it. */
static int unavailable(int rc)
{
    return rc == ERR_INTERNAL ? ERR_UNAVAILABLE : rc;
}

static int redis_get(struct cache *base, const char *key, char **val, int64_t *version)
{
    struct cache_redis *p = (struct cache_redis *)base;
    redisReply *r = NULL;
    int rc = redis_conn_command(p->redis, "get", 2, (const char *[]){"GET", key}, NULL, &r);
    if (rc != 0)
        return unavailable(rc);
    struct cache_entry e;
    /* TODO(lab 3.15): A hit is a string reply holding an entry of ours that is no tombstone. */
    rc = ERR_NOT_FOUND; goto done;
    size_t n = r->len - e.value_at;
    if (!(*val = malloc(n + 1))) {
        rc = ERR_NOMEM;
        goto done;
    }
    memcpy(*val, r->str + e.value_at, n);
    (*val)[n] = '\0';
    *version = e.version;
done:
    freeReplyObject(r);
    return rc;
}

/* Runs script `which` on key with args; *result is its integer answer. 0 or ERR_UNAVAILABLE. */
static int script_run(struct cache_redis *p, enum script which, const char *key,
                      const char *const *args, int nargs, long long *result)
{
    redisReply *r = NULL;
    int rc = redis_conn_eval(p->redis, which == SCRIPT_PUT ? "put" : "invalidate", which, 1,
                             (const char *[]){key}, nargs, args, &r);
    if (rc != 0)
        return unavailable(rc);
    if (r->type == REDIS_REPLY_INTEGER)
        *result = r->integer;
    else
        rc = ERR_UNAVAILABLE;
    freeReplyObject(r);
    return rc;
}

static int redis_put(struct cache *base, const char *key, int64_t version, const char *val,
                     int ttl_s, bool *stored)
{
    char ver[24], ttl[16];
    snprintf(ver, sizeof ver, "%lld", (long long)version);
    snprintf(ttl, sizeof ttl, "%d", ttl_s);
    const char *const args[] = {ver, val, ttl};
    long long n = 0;
    int rc = script_run((struct cache_redis *)base, SCRIPT_PUT, key, args, 3, &n);
    if (rc == 0 && stored)
        *stored = n == 1;
    return rc;
}

static int redis_invalidate(struct cache *base, const char *key, int64_t version, int ttl_s)
{
    char ver[24], ttl[16];
    snprintf(ver, sizeof ver, "%lld", (long long)version);
    snprintf(ttl, sizeof ttl, "%d", ttl_s);
    const char *const args[] = {ver, ttl};
    long long n = 0;
    return script_run((struct cache_redis *)base, SCRIPT_INVALIDATE, key, args, 2, &n);
}

static int redis_ping(struct cache *base)
{
    return redis_conn_ping(((struct cache_redis *)base)->redis);
}

static void redis_free(struct cache *base)
{
    struct cache_redis *p = (struct cache_redis *)base;
    redis_conn_free(p->redis);
    free(p);
}

static const struct cache_ops redis_ops = {
    .name = "redis",
    .get = redis_get,
    .put = redis_put,
    .invalidate = redis_invalidate,
    .ping = redis_ping,
    .free = redis_free,
};

int cache_redis_open(const char *url, struct cache **out)
{
    if (!out)
        return ERR_INVALID;
    *out = NULL;
    if (!url || strncmp(url, "redis://", strlen("redis://")) != 0)
        return ERR_INVALID;
    int rc = ERR_NOMEM;
    struct cache_redis *p = calloc(1, sizeof *p);
    struct redis_conn_options o = {
        .url = url, .name = "cache", .size = CONNECTIONS, .scripts = script_source};
    if (!p || (rc = redis_conn_new(&o, &p->redis)) != 0) {
        free(p);
        return rc;
    }
    p->base.ops = &redis_ops;
    *out = &p->base;
    return 0;
}
