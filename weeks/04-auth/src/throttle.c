/* throttle.c — login failure counts in Redis (throttle.h), with hiredis.
 *
 * A count is one Redis key, <prefix>:<key>, holding an integer with a time to live: the first
 * failure creates it and starts the window, later failures add one, and Redis deletes it when
 * the window ends. Counting is one Lua script (INCR, and EXPIRE on the first failure), so two
 * instances failing the same key at once can neither lose a count nor leave a key without its
 * window; reading is one script too, so the count and the time left belong together.
 *
 * Connection (as in week 3's queue_redis.c): one hiredis context per handle behind its mutex;
 * a connect waits at most CONNECT_TIMEOUT_MS and a command COMMAND_TIMEOUT_MS, so a login never
 * hangs on a frozen Redis. A context that failed is freed and the next call connects again;
 * after a failed connect, calls fail fast for CONNECT_BACKOFF_US instead of each paying for its
 * own attempt. While Redis is away every call is ERR_UNAVAILABLE and the caller lets the login
 * through (fail open); the log says so once, and once when Redis is back. hiredis writes with
 * write(2): the programs using this module ignore SIGPIPE. */
#include "throttle.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "err.h"
#include "log.h"

#define CONNECT_TIMEOUT_MS 200
#define COMMAND_TIMEOUT_MS 500
#define CONNECT_BACKOFF_US INT64_C(1000000)
#define HOST_MAX           256
#define PREFIX_MAX         128
#define KEY_MAX            512 /* a caller's key: "login:email:" and a 254-byte e-mail fit */
#define FULL_KEY_MAX       (PREFIX_MAX + 1 + KEY_MAX + 1)
#define DEFAULT_REDIS_PORT 6379

struct throttle {
    pthread_mutex_t lock; /* one command at a time on ctx */
    redisContext *ctx;    /* NULL: not connected */
    char host[HOST_MAX];
    int port;
    int db;
    char prefix[PREFIX_MAX + 1];
    int64_t retry_after_us; /* no connect attempt before this (monotonic µs) */
    bool down;              /* Redis went away: logged once, until a connect succeeds */
};

/* ------------------------------------------------------------------ the scripts */

/* KEYS: the count. ARGV: window_s. Returns the new count. The window starts with the first
 * failure; a key found without a time to live (written by hand, or by an older version) gets
 * one too, or it would block its key for ever. */
static const char LUA_FAIL[] = "local n = redis.call('INCR', KEYS[1]) "
                               "if n == 1 or redis.call('TTL', KEYS[1]) == -1 then "
                               "  redis.call('EXPIRE', KEYS[1], ARGV[1]) "
                               "end "
                               "return n";

/* KEYS: the count. Returns {count, seconds left} ({0, -2} when there is no count). */
static const char LUA_CHECK[] = "local n = redis.call('GET', KEYS[1]) "
                                "if not n then return {0, -2} end "
                                "return {tonumber(n) or 0, redis.call('TTL', KEYS[1])}";

/* ------------------------------------------------------------------ connection */

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct timeval ms_to_tv(int64_t ms)
{
    return (struct timeval){.tv_sec = (time_t)(ms / 1000),
                            .tv_usec = (suseconds_t)(ms % 1000) * 1000};
}

/* Forgets a context that failed at the connection level (its protocol state is unknown once a
 * read timed out or the socket closed). Lock held. */
static void conn_lost(struct throttle *t, const char *what)
{
    if (!t->down) {
        /* errstr names the failure ("Connection refused", "Resource temporarily unavailable"
         * for a timeout), never anything secret. */
        struct log_kv kv[] = {LOG_STR("op", what),
                              LOG_STR("error", t->ctx ? t->ctx->errstr : "no reply")};
        log_kv(LOG_ERROR,
               "cannot reach the login throttle's Redis; logins are not throttled until it is back",
               kv, 2);
    }
    t->down = true;
    if (t->ctx)
        redisFree(t->ctx);
    t->ctx = NULL;
}

/* Connects when there is no context. 0 or ERR_UNAVAILABLE. Lock held. */
static int conn_ensure(struct throttle *t)
{
    if (t->ctx)
        return 0;
    if (t->down && mono_us() < t->retry_after_us)
        return ERR_UNAVAILABLE;
    /* Only a failed connect backs off: after a lost connection the next call tries at once. */
    t->retry_after_us = mono_us() + CONNECT_BACKOFF_US;
    t->ctx = redisConnectWithTimeout(t->host, t->port, ms_to_tv(CONNECT_TIMEOUT_MS));
    if (!t->ctx || t->ctx->err) {
        conn_lost(t, "connect");
        return ERR_UNAVAILABLE;
    }
    /* hiredis 0.14 bounds only the connect by that timeout; this one bounds every read and
     * write after it. */
    if (redisSetTimeout(t->ctx, ms_to_tv(COMMAND_TIMEOUT_MS)) != REDIS_OK) {
        conn_lost(t, "connect");
        return ERR_UNAVAILABLE;
    }
    if (t->db != 0) {
        redisReply *r = redisCommand(t->ctx, "SELECT %d", t->db);
        bool ok = r && r->type == REDIS_REPLY_STATUS;
        if (r && r->type == REDIS_REPLY_ERROR) {
            struct log_kv kv[] = {LOG_INT("db", t->db), LOG_STR("error", r->str)};
            log_kv(LOG_ERROR, "Redis refused the database of the throttle URL", kv, 2);
        }
        if (r)
            freeReplyObject(r);
        if (!ok) {
            conn_lost(t, "select");
            return ERR_UNAVAILABLE;
        }
    }
    if (t->down)
        log_msg(LOG_INFO, "the login throttle's Redis is reachable again");
    t->down = false;
    t->retry_after_us = 0;
    return 0;
}

/* Runs one command (connecting first if needed), every argument a C string. 0 with *out (the
 * caller frees it with freeReplyObject), ERR_UNAVAILABLE, or ERR_INTERNAL for an error reply.
 * Takes the lock. */
static int run(struct throttle *t, const char *what, int argc, const char **argv, redisReply **out)
{
    *out = NULL;
    pthread_mutex_lock(&t->lock);
    int rc = conn_ensure(t);
    redisReply *r = NULL;
    if (rc == 0) {
        r = redisCommandArgv(t->ctx, argc, argv, NULL);
        if (!r) {
            conn_lost(t, what);
            rc = ERR_UNAVAILABLE;
        }
    }
    pthread_mutex_unlock(&t->lock);
    if (rc != 0)
        return rc;
    if (r->type == REDIS_REPLY_ERROR) {
        /* Redis answered, so it is up; the command or its data is wrong (a count that is not a
         * number, a server that is loading or out of memory): the caller fails open all the
         * same, so one code serves. */
        struct log_kv kv[] = {LOG_STR("op", what), LOG_STR("error", r->str)};
        log_kv(LOG_ERROR, "Redis refused a login throttle command", kv, 2);
        freeReplyObject(r);
        return ERR_UNAVAILABLE;
    }
    *out = r;
    return 0;
}

/* ------------------------------------------------------------------ helpers */

/* Parses "redis://HOST[:PORT][/DB]". No user or password: throttle.h promises no more, and a
 * URL with a secret in it should never reach a log line by accident. */
static int parse_url(const char *url, char *host, size_t host_len, int *port, int *db)
{
    static const char scheme[] = "redis://";
    if (strncmp(url, scheme, sizeof scheme - 1) != 0)
        return ERR_INVALID;
    const char *p = url + sizeof scheme - 1;
    size_t n = strcspn(p, ":/");
    if (n == 0 || n >= host_len || memchr(p, '@', n))
        return ERR_INVALID;
    memcpy(host, p, n);
    host[n] = '\0';
    p += n;
    *port = DEFAULT_REDIS_PORT;
    *db = 0;
    char *end;
    if (*p == ':') {
        errno = 0;
        long v = strtol(p + 1, &end, 10);
        if (errno || end == p + 1 || v < 1 || v > 65535 || (*end != '\0' && *end != '/'))
            return ERR_INVALID;
        *port = (int)v;
        p = end;
    }
    if (*p == '/' && p[1] != '\0') {
        errno = 0;
        long v = strtol(p + 1, &end, 10);
        if (errno || end == p + 1 || v < 0 || v > 1000000 || *end != '\0')
            return ERR_INVALID;
        *db = (int)v;
    } else if (*p != '\0' && strcmp(p, "/") != 0) {
        return ERR_INVALID; /* "redis://host:port/" names database 0 */
    }
    return 0;
}

/* Builds <prefix>:<key> into out. A key is one printable word: no spaces or control characters
 * (an e-mail or an address never has them, and a log line or redis-cli shows it as it is), at
 * most KEY_MAX bytes. ERR_INVALID otherwise. */
static int full_key(const struct throttle *t, const char *key, char out[FULL_KEY_MAX])
{
    if (!key)
        return ERR_INVALID;
    size_t n = strnlen(key, KEY_MAX + 1);
    if (n == 0 || n > KEY_MAX)
        return ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c <= 0x20 || c == 0x7F)
            return ERR_INVALID;
    }
    int len = snprintf(out, FULL_KEY_MAX, "%s:%s", t->prefix, key);
    return len > 0 && (size_t)len < FULL_KEY_MAX ? 0 : ERR_INVALID;
}

/* ------------------------------------------------------------------ the interface */

int throttle_open(const char *url, const char *prefix, struct throttle **out)
{
    if (!out)
        return ERR_INVALID;
    *out = NULL;
    if (!url || !prefix || prefix[0] == '\0' || strnlen(prefix, PREFIX_MAX + 1) > PREFIX_MAX)
        return ERR_INVALID;
    struct throttle *t = calloc(1, sizeof *t);
    if (!t)
        return ERR_NOMEM;
    if (parse_url(url, t->host, sizeof t->host, &t->port, &t->db) != 0) {
        free(t);
        return ERR_INVALID;
    }
    memcpy(t->prefix, prefix, strlen(prefix) + 1);
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t);
        return ERR_INTERNAL;
    }
    *out = t;
    return 0;
}

void throttle_free(struct throttle *t)
{
    if (!t)
        return;
    if (t->ctx)
        redisFree(t->ctx);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

int throttle_check(struct throttle *t, const char *key, int limit, bool *blocked,
                   int *retry_after_s)
{
    if (blocked)
        *blocked = false;
    if (retry_after_s)
        *retry_after_s = 0;
    char k[FULL_KEY_MAX];
    if (!t || !blocked || !retry_after_s || limit < 1 || full_key(t, key, k) != 0)
        return ERR_INVALID;
    const char *argv[] = {"EVAL", LUA_CHECK, "1", k};
    redisReply *r = NULL;
    int rc = run(t, "check", 4, argv, &r);
    if (rc != 0)
        return rc;
    bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
              r->element[0]->type == REDIS_REPLY_INTEGER &&
              r->element[1]->type == REDIS_REPLY_INTEGER;
    long long count = ok ? r->element[0]->integer : 0;
    long long ttl = ok ? r->element[1]->integer : 0;
    freeReplyObject(r);
    if (!ok) {
        log_msg(LOG_ERROR, "the login throttle's check script answered something unexpected");
        return ERR_INTERNAL;
    }
    if (count >= limit) {
        *blocked = true;
        /* The key may expire between the script and the answer (TTL 0), or have no time to
         * live at all (-1, until the next failure repairs it): a client still waits a second. */
        *retry_after_s = ttl < 1 ? 1 : ttl > INT32_MAX ? INT32_MAX : (int)ttl;
    }
    return 0;
}

int throttle_fail(struct throttle *t, const char *key, int window_s)
{
    char k[FULL_KEY_MAX];
    if (!t || window_s < 1 || full_key(t, key, k) != 0)
        return ERR_INVALID;
    char window[16];
    snprintf(window, sizeof window, "%d", window_s);
    const char *argv[] = {"EVAL", LUA_FAIL, "1", k, window};
    redisReply *r = NULL;
    int rc = run(t, "fail", 5, argv, &r);
    if (rc != 0)
        return rc;
    bool ok = r->type == REDIS_REPLY_INTEGER;
    freeReplyObject(r);
    if (!ok) {
        log_msg(LOG_ERROR, "the login throttle's fail script answered something unexpected");
        return ERR_INTERNAL;
    }
    return 0;
}

int throttle_reset(struct throttle *t, const char *key)
{
    char k[FULL_KEY_MAX];
    if (!t || full_key(t, key, k) != 0)
        return ERR_INVALID;
    const char *argv[] = {"DEL", k};
    redisReply *r = NULL;
    int rc = run(t, "reset", 2, argv, &r);
    if (r)
        freeReplyObject(r);
    return rc;
}
