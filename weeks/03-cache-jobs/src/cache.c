/* cache.c — picks a cache backend from its URL and checks every call's arguments once.
 *
 * The backends (cache_redis.c, cache_memcached.c) share the rules of what a key, a version and
 * a TTL may be, so a caller that works with one works with the other: the rules live here, in
 * the wrappers, and a backend's ops may trust their arguments. The strictest store sets them:
 * memcached's text protocol allows keys of at most 250 bytes without spaces or control
 * characters, and reads an expiry over 30 days as an absolute Unix time, not a duration. The
 * backends also store an entry in one form, so reading one (cache_entry_parse) lives here too. */
#include "cache.h"

#include <ctype.h>
#include <string.h>

#include "err.h"

#define KEY_MAX   250                 /* memcached's limit, in bytes */
#define TTL_MAX_S (30 * 24 * 60 * 60) /* memcached: beyond this, an expiry is a timestamp */

int cache_open(const char *url, struct cache **out)
{
    if (!out)
        return ERR_INVALID;
    *out = NULL;
    if (!url)
        return ERR_INVALID;
    if (strncmp(url, "redis://", strlen("redis://")) == 0)
        return cache_redis_open(url, out);
    if (strncmp(url, "memcached://", strlen("memcached://")) == 0)
        return cache_memcached_open(url, out);
    return ERR_INVALID;
}

/* 1..KEY_MAX printable ASCII bytes other than space: what every backend can store as it is. */
static bool key_ok(const char *key)
{
    if (!key)
        return false;
    size_t n = strnlen(key, KEY_MAX + 1);
    if (n == 0 || n > KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)key[i] <= ' ' || (unsigned char)key[i] >= 0x7f)
            return false;
    return true;
}

/* Versions are compared as decimal strings inside Redis (exact for every int64): they must
 * not be negative. */
static bool version_ok(int64_t version)
{
    return version >= 0;
}

static bool ttl_ok(int ttl_s)
{
    return ttl_s >= 1 && ttl_s <= TTL_MAX_S;
}

int cache_get(struct cache *c, const char *key, char **val, int64_t *version)
{
    if (val)
        *val = NULL;
    if (!c || !val || !version || !key_ok(key))
        return ERR_INVALID;
    return c->ops->get(c, key, val, version);
}

int cache_put(struct cache *c, const char *key, int64_t version, const char *val, int ttl_s,
              bool *stored)
{
    if (stored)
        *stored = false;
    if (!c || !val || !key_ok(key) || !version_ok(version) || !ttl_ok(ttl_s))
        return ERR_INVALID;
    return c->ops->put(c, key, version, val, ttl_s, stored);
}

int cache_invalidate(struct cache *c, const char *key, int64_t version, int ttl_s)
{
    if (!c || !key_ok(key) || !version_ok(version) || !ttl_ok(ttl_s))
        return ERR_INVALID;
    return c->ops->invalidate(c, key, version, ttl_s);
}

int cache_ping(struct cache *c)
{
    if (!c)
        return ERR_INVALID;
    return c->ops->ping(c);
}

void cache_free(struct cache *c)
{
    if (c)
        c->ops->free(c);
}

bool cache_entry_parse(const char *s, size_t n, struct cache_entry *out)
{
    if (n < 3 || (s[0] != 'v' && s[0] != 't') || s[1] != ' ' || !isdigit((unsigned char)s[2]))
        return false;
    int64_t v = 0;
    size_t i = 2;
    for (; i < n && isdigit((unsigned char)s[i]); i++) {
        int d = s[i] - '0';
        if (v > (INT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    out->tombstone = s[0] == 't';
    out->version = v;
    if (out->tombstone)
        return i == n;
    if (i == n || s[i] != '\n')
        return false;
    out->value_at = i + 1;
    return true;
}
