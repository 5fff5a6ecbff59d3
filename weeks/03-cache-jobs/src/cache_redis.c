/* cache_redis.c — the versioned cache of cache.h on Redis (hiredis), for task_repo_cached.c.
 *
 * An entry is one Redis string: "v <version>\n<value>" for a value, "t <version>" for a
 * tombstone, with the TTL on the key (SET ... EX). get is a plain GET. put and invalidate must
 * read the entry, compare versions and write, and nothing may happen in between: each is a Lua
 * script, which Redis runs as one command while every other client waits. The scripts are
 * loaded once per connection (SCRIPT LOAD) and called by their SHA1 (EVALSHA), so a call sends
 * the key and arguments, not the script; if the server forgot them (SCRIPT FLUSH, a failover)
 * the call falls back to EVAL with the source, which caches them again.
 *
 * hiredis contexts are not thread-safe, so the cache keeps a small fixed pool of them, lent to
 * one caller at a time (the pattern of week 2's pg_pool.c). Every connect and every command
 * has a deadline, so a dead or stalled Redis costs a caller at most about half a second, never
 * a hang. A context that failed is freed and replaced on a later call. While Redis is down,
 * one call a second goes through to probe it and the others fail fast with ERR_UNAVAILABLE;
 * the log says once that Redis went away and once that it is back. */
#include "cache.h"

#include <ctype.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "log.h"

#define POOL_SIZE          8
#define CONNECT_TIMEOUT_MS 200
#define COMMAND_TIMEOUT_MS 500
#define BORROW_WAIT_MS     500     /* longest a caller waits for a free connection */
#define BACKOFF_US         1000000 /* while down: one probe a second */
#define HOST_MAX           255
#define SHA_LEN            40
#define SCRIPT_ARGS_MAX    3 /* ARGV of the longest script (put) */

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
    /* LAB:BEGIN 3.1 Refuse the refill when the key holds a value or tombstone it must not undo. */
    "if kind == 'v' and not older(ver, ARGV[1]) then return 0 end\n"
    "if kind == 't' and older(ARGV[1], ver) then return 0 end\n"
    /* LAB:END */
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

static const char *const script_source[SCRIPT_COUNT] = {PUT_LUA, INVALIDATE_LUA};

struct redis_conn {
    redisContext *ctx;                   /* NULL: not connected */
    char sha[SCRIPT_COUNT][SHA_LEN + 1]; /* the scripts' SHA1s, as SCRIPT LOAD answered */
    struct redis_conn *next_idle;
};

struct cache_redis {
    struct cache base; /* first: a struct cache * is a struct cache_redis * */
    char host[HOST_MAX + 1];
    int port;
    int db;
    pthread_mutex_t lock;    /* guards idle, down, retry_after_us */
    pthread_cond_t returned; /* a connection came back to the idle stack */
    struct redis_conn slots[POOL_SIZE];
    struct redis_conn *idle; /* stack of the slots nobody holds */
    bool down;               /* the last attempt failed: logged once, until one succeeds */
    int64_t retry_after_us;  /* while down, the next probe is due then (monotonic µs) */
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct timeval ms_to_tv(int ms)
{
    return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000};
}

/* ------------------------------------------------------------------ health: down and back */

/* Records a failure; logs only the first of a run. why names the cause (never a secret). */
static void note_failure(struct cache_redis *p, const char *why)
{
    pthread_mutex_lock(&p->lock);
    bool was_down = p->down;
    p->down = true;
    p->retry_after_us = mono_us() + BACKOFF_US;
    pthread_mutex_unlock(&p->lock);
    if (!was_down) {
        struct log_kv kv[] = {LOG_STR("error", why)};
        log_kv(LOG_ERROR, "Redis cache unreachable; cache calls fail fast until it is back", kv, 1);
    }
}

static void note_success(struct cache_redis *p)
{
    pthread_mutex_lock(&p->lock);
    bool was_down = p->down;
    p->down = false;
    pthread_mutex_unlock(&p->lock);
    if (was_down)
        log_msg(LOG_INFO, "Redis cache is reachable again");
}

/* ------------------------------------------------------------------ connections */

/* A reply to a command on ctx, or NULL with *why set (ctx's error text, owned by ctx). */
static redisReply *ctx_command(redisContext *ctx, int argc, const char **argv, const char **why)
{
    redisReply *r = redisCommandArgv(ctx, argc, argv, NULL);
    if (r)
        return r;
    /* A read that hit the socket timeout fails with EAGAIN, which hiredis reports as
     * "Resource temporarily unavailable": say what it means. */
    if (ctx->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK))
        *why = "no answer within the command timeout";
    else
        *why = ctx->err ? ctx->errstr : "no reply";
    return NULL;
}

/* Connects c (outside the pool's lock: a slow connect must not stall the other callers), picks
 * the database and loads the scripts. 0 or ERR_UNAVAILABLE. */
static int conn_connect(struct cache_redis *p, struct redis_conn *c)
{
    const char *why = "out of memory";
    char reply_text[128] = "";
    redisReply *r = NULL;
    redisContext *ctx = redisConnectWithTimeout(p->host, p->port, ms_to_tv(CONNECT_TIMEOUT_MS));
    if (!ctx)
        goto fail;
    if (ctx->err) {
        why = ctx->errstr;
        goto fail;
    }
    /* Without it a read would wait for as long as a stalled server keeps the socket open. */
    if (redisSetTimeout(ctx, ms_to_tv(COMMAND_TIMEOUT_MS)) != REDIS_OK) {
        why = "cannot set the command timeout";
        goto fail;
    }
    if (p->db != 0) {
        char db[16];
        snprintf(db, sizeof db, "%d", p->db);
        const char *argv[] = {"SELECT", db};
        if (!(r = ctx_command(ctx, 2, argv, &why)))
            goto fail;
        if (r->type != REDIS_REPLY_STATUS) {
            snprintf(reply_text, sizeof reply_text, "SELECT: %s",
                     r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            why = reply_text;
            goto fail;
        }
        freeReplyObject(r);
        r = NULL;
    }
    for (int i = 0; i < SCRIPT_COUNT; i++) {
        const char *argv[] = {"SCRIPT", "LOAD", script_source[i]};
        if (!(r = ctx_command(ctx, 3, argv, &why)))
            goto fail;
        if (r->type != REDIS_REPLY_STRING || r->len != SHA_LEN) {
            snprintf(reply_text, sizeof reply_text, "SCRIPT LOAD: %s",
                     r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            why = reply_text;
            goto fail;
        }
        memcpy(c->sha[i], r->str, SHA_LEN);
        c->sha[i][SHA_LEN] = '\0';
        freeReplyObject(r);
        r = NULL;
    }
    c->ctx = ctx;
    note_success(p);
    return 0;
fail:
    note_failure(p, why); /* before the free: why may point into ctx */
    freeReplyObject(r);
    redisFree(ctx);
    return ERR_UNAVAILABLE;
}

/* An idle connection is usable when the server has sent nothing since our last reply: we never
 * subscribe, so anything readable is the server closing it (a restart, an idle timeout). */
static bool conn_alive(const redisContext *ctx)
{
    struct pollfd pfd = {.fd = ctx->fd, .events = POLLIN};
    return poll(&pfd, 1, 0) == 0;
}

static void conn_release(struct cache_redis *p, struct redis_conn *c)
{
    pthread_mutex_lock(&p->lock);
    c->next_idle = p->idle;
    p->idle = c;
    pthread_cond_signal(&p->returned);
    pthread_mutex_unlock(&p->lock);
}

/* Borrows a connected context. ERR_UNAVAILABLE at once while Redis is down (unless this caller
 * is the probe), or when no connection comes free in BORROW_WAIT_MS, or the connect fails. */
static int conn_borrow(struct cache_redis *p, struct redis_conn **out)
{
    int64_t deadline = mono_us() + BORROW_WAIT_MS * INT64_C(1000);
    struct timespec until = {.tv_sec = deadline / 1000000,
                             .tv_nsec = (long)(deadline % 1000000) * 1000};
    pthread_mutex_lock(&p->lock);
    int64_t now = mono_us();
    if (p->down && now < p->retry_after_us) {
        pthread_mutex_unlock(&p->lock);
        return ERR_UNAVAILABLE;
    }
    if (p->down)
        p->retry_after_us = now + BACKOFF_US; /* this caller probes; the others keep failing */
    while (!p->idle) {
        if (pthread_cond_timedwait(&p->returned, &p->lock, &until) != 0 && !p->idle) {
            pthread_mutex_unlock(&p->lock);
            log_msg(LOG_WARN, "no Redis cache connection came free in time");
            return ERR_UNAVAILABLE;
        }
    }
    struct redis_conn *c = p->idle;
    p->idle = c->next_idle;
    c->next_idle = NULL;
    pthread_mutex_unlock(&p->lock);

    if (c->ctx && !conn_alive(c->ctx)) {
        redisFree(c->ctx);
        c->ctx = NULL;
    }
    if (!c->ctx && conn_connect(p, c) != 0) {
        conn_release(p, c);
        return ERR_UNAVAILABLE;
    }
    *out = c;
    return 0;
}

/* Runs a command on a borrowed connection. 0 with the reply (which may be an error reply; the
 * caller frees it): the server answered. ERR_UNAVAILABLE when the connection failed (timeout,
 * reset, EOF): the context is then in an unknown state, so it is freed and the next borrow
 * reconnects. */
static int conn_command(struct cache_redis *p, struct redis_conn *c, int argc, const char **argv,
                        redisReply **out)
{
    const char *why = NULL;
    *out = ctx_command(c->ctx, argc, argv, &why);
    if (*out) {
        note_success(p); /* the probe may have used a connection that stayed open */
        return 0;
    }
    note_failure(p, why);
    redisFree(c->ctx);
    c->ctx = NULL;
    return ERR_UNAVAILABLE;
}

/* An error reply (OOM, LOADING, BUSY, READONLY...) leaves the connection usable, but the call
 * has failed: the cache is unavailable for it. */
static int reply_error(const redisReply *r, const char *what)
{
    struct log_kv kv[] = {LOG_STR("op", what), LOG_STR("error", r->str)};
    log_kv(LOG_WARN, "Redis cache call failed", kv, 2);
    return ERR_UNAVAILABLE;
}

/* ------------------------------------------------------------------ operations */

/* Reads an entry "v <version>\n<value>" or "t <version>". false for anything else. */
static bool entry_parse(const char *s, size_t n, bool *tombstone, int64_t *version,
                        size_t *value_at)
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
    *tombstone = s[0] == 't';
    *version = v;
    if (*tombstone)
        return i == n;
    if (i == n || s[i] != '\n')
        return false;
    *value_at = i + 1;
    return true;
}

static int redis_get(struct cache *base, const char *key, char **val, int64_t *version)
{
    struct cache_redis *p = (struct cache_redis *)base;
    struct redis_conn *c = NULL;
    redisReply *r = NULL;
    int rc = conn_borrow(p, &c);
    if (rc != 0)
        return rc;
    const char *argv[] = {"GET", key};
    if ((rc = conn_command(p, c, 2, argv, &r)) != 0)
        goto done;
    if (r->type == REDIS_REPLY_ERROR) {
        rc = reply_error(r, "get");
        goto done;
    }
    bool tombstone = false;
    size_t at = 0;
    if (r->type != REDIS_REPLY_STRING || !entry_parse(r->str, r->len, &tombstone, version, &at) ||
        tombstone) {
        rc = ERR_NOT_FOUND; /* absent, a tombstone, or not an entry of ours */
        goto done;
    }
    size_t n = r->len - at;
    if (!(*val = malloc(n + 1))) {
        rc = ERR_NOMEM;
        goto done;
    }
    memcpy(*val, r->str + at, n);
    (*val)[n] = '\0';
    rc = 0;
done:
    freeReplyObject(r);
    conn_release(p, c);
    return rc;
}

/* Runs script `which` on key with args; *result is its integer answer. 0 or ERR_UNAVAILABLE. */
static int script_run(struct cache_redis *p, enum script which, const char *key,
                      const char *const *args, int nargs, long long *result)
{
    if (nargs > SCRIPT_ARGS_MAX)
        return ERR_INTERNAL;
    struct redis_conn *c = NULL;
    redisReply *r = NULL;
    int rc = conn_borrow(p, &c);
    if (rc != 0)
        return rc;
    /* EVALSHA sha numkeys key args... */
    const char *argv[4 + SCRIPT_ARGS_MAX] = {"EVALSHA", c->sha[which], "1", key};
    int argc = 4;
    for (int i = 0; i < nargs; i++)
        argv[argc++] = args[i];
    if ((rc = conn_command(p, c, argc, argv, &r)) != 0)
        goto done;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", strlen("NOSCRIPT")) == 0) {
        freeReplyObject(r);
        r = NULL;
        argv[0] = "EVAL";
        argv[1] = script_source[which];
        if ((rc = conn_command(p, c, argc, argv, &r)) != 0)
            goto done;
    }
    if (r->type != REDIS_REPLY_INTEGER) {
        rc = r->type == REDIS_REPLY_ERROR ? reply_error(r, argv[0]) : ERR_UNAVAILABLE;
        goto done;
    }
    *result = r->integer;
    rc = 0;
done:
    freeReplyObject(r);
    conn_release(p, c);
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
    struct cache_redis *p = (struct cache_redis *)base;
    struct redis_conn *c = NULL;
    redisReply *r = NULL;
    if (conn_borrow(p, &c) != 0)
        return ERR_UNAVAILABLE;
    const char *argv[] = {"PING"};
    int rc = conn_command(p, c, 1, argv, &r);
    if (rc == 0 && !(r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0))
        rc = r->type == REDIS_REPLY_ERROR ? reply_error(r, "ping") : ERR_UNAVAILABLE;
    freeReplyObject(r);
    conn_release(p, c);
    return rc;
}

static void redis_free(struct cache *base)
{
    struct cache_redis *p = (struct cache_redis *)base;
    for (size_t i = 0; i < POOL_SIZE; i++)
        redisFree(p->slots[i].ctx);
    pthread_cond_destroy(&p->returned);
    pthread_mutex_destroy(&p->lock);
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

/* ------------------------------------------------------------------ opening */

/* Reads a decimal number in [min, max] at *s and moves *s past it; false when there is none. */
static bool read_number(const char **s, long min, long max, long *out)
{
    if (!isdigit((unsigned char)**s))
        return false;
    char *end = NULL;
    errno = 0;
    long v = strtol(*s, &end, 10);
    if (errno != 0 || v < min || v > max)
        return false;
    *s = end;
    *out = v;
    return true;
}

/* "redis://HOST[:PORT][/DB]" with a host name or IPv4 address; the port defaults to 6379 and
 * the database to 0. Anything else (a password, options) is refused rather than ignored. */
static int parse_url(const char *url, struct cache_redis *p)
{
    const char *s = url + strlen("redis://");
    size_t n = 0;
    while (isalnum((unsigned char)s[n]) || s[n] == '.' || s[n] == '-' || s[n] == '_')
        n++;
    if (n == 0 || n > HOST_MAX)
        return ERR_INVALID;
    memcpy(p->host, s, n);
    p->host[n] = '\0';
    s += n;
    long port = 6379, db = 0;
    if (*s == ':') {
        s++;
        if (!read_number(&s, 1, 65535, &port))
            return ERR_INVALID;
    }
    if (*s == '/') {
        s++;
        if (*s != '\0' && !read_number(&s, 0, INT_MAX, &db))
            return ERR_INVALID; /* "redis://host:port/" is database 0 */
    }
    if (*s != '\0')
        return ERR_INVALID;
    p->port = (int)port;
    p->db = (int)db;
    return 0;
}

int cache_redis_open(const char *url, struct cache **out)
{
    if (!out)
        return ERR_INVALID;
    *out = NULL;
    if (!url || strncmp(url, "redis://", strlen("redis://")) != 0)
        return ERR_INVALID;
    struct cache_redis *p = calloc(1, sizeof *p);
    if (!p)
        return ERR_NOMEM;
    if (parse_url(url, p) != 0) {
        /* The URL itself is not logged: it could carry a password. */
        log_msg(LOG_ERROR, "the Redis cache URL is not redis://HOST[:PORT][/DB]");
        free(p);
        return ERR_INVALID;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* a wall-clock jump must not end a wait */
    bool lock_ok = pthread_mutex_init(&p->lock, NULL) == 0;
    bool cond_ok = pthread_cond_init(&p->returned, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!lock_ok || !cond_ok) {
        if (lock_ok)
            pthread_mutex_destroy(&p->lock);
        if (cond_ok)
            pthread_cond_destroy(&p->returned);
        free(p);
        return ERR_INTERNAL;
    }
    for (size_t i = POOL_SIZE; i-- > 0;) {
        p->slots[i].next_idle = p->idle;
        p->idle = &p->slots[i];
    }
    p->base.ops = &redis_ops;
    *out = &p->base;
    return 0;
}
