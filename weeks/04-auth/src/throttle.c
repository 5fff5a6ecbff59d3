/* throttle.c — login failure counts in Redis (throttle.h), with hiredis.
 *
 * A count is one Redis key, <prefix>:<key>, holding an integer with a time to live: the first
 * failure creates it and starts the window, later failures add one, and Redis deletes it when
 * the window ends. Counting is one Lua script (INCR, and EXPIRE on the first failure), so two
 * instances failing the same key at once can neither lose a count nor leave a key without its
 * window; reading is one script too, so the count and the time left belong together. A login
 * reserves its attempt with one script that checks every key and counts them all only when none
 * is at its limit: checking first and counting after the password (tens of milliseconds of
 * argon2id) let every guess that arrived meanwhile through the check (issue 11, item 2).
 *
 * Connection: week 3's Redis client (redis_conn.h), the same one the cache and the job queue
 * use, so the URL, AUTH and SELECT, the deadlines and the recovery are those of week 3. With its
 * default deadlines a connect waits at most 200 ms and a command 500 ms, so a login never hangs on
 * a frozen Redis, and after a failed connect calls fail fast for a second. While Redis is away
 * every call is ERR_UNAVAILABLE and the caller lets the login through (fail open); redis_conn
 * logs that once, and once when Redis is back. */
#include "throttle.h"

#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "redis_conn.h"

#define CONNECTIONS  4 /* logins from several request threads at once */
#define PREFIX_MAX   128
#define KEY_MAX      512 /* a caller's key: "login:email:" and a 254-byte e-mail fit */
#define FULL_KEY_MAX (PREFIX_MAX + 1 + KEY_MAX + 1)

struct throttle {
    struct redis_conn *redis;
    char prefix[PREFIX_MAX + 1];
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

/* KEYS: the counts. ARGV: window_s, then one limit per key. Returns {1, 0} when every count
 * went up by one, {0, longest seconds left} when a key was at its limit and nothing was counted.
 * Check and count in one script: Redis runs it alone, so of concurrent attempts only as many as
 * the limit get through, however long each one's check takes afterwards. A blocked key found
 * without a time to live gets one, or it would block for ever (nothing else writes it then). */
static const char LUA_RESERVE[] = "local blocked, wait = false, 0 "
                                  "for i, k in ipairs(KEYS) do "
                                  "  local n = tonumber(redis.call('GET', k)) or 0 "
                                  "  if n >= tonumber(ARGV[i + 1]) then "
                                  "    blocked = true "
                                  "    local ttl = redis.call('TTL', k) "
                                  "    if ttl == -1 then "
                                  "      redis.call('EXPIRE', k, ARGV[1]) "
                                  "      ttl = tonumber(ARGV[1]) "
                                  "    end "
                                  "    if ttl > wait then wait = ttl end "
                                  "  end "
                                  "end "
                                  "if blocked then return {0, wait} end "
                                  "for _, k in ipairs(KEYS) do "
                                  "  local n = redis.call('INCR', k) "
                                  "  if n == 1 or redis.call('TTL', k) == -1 then "
                                  "    redis.call('EXPIRE', k, ARGV[1]) "
                                  "  end "
                                  "end "
                                  "return {1, 0}";

/* KEYS: the count. Takes one back (DECR keeps the time to live), never below 0 and never
 * creating a key. Returns the new count. */
static const char LUA_RELEASE[] = "local n = tonumber(redis.call('GET', KEYS[1])) "
                                  "if n and n > 0 then return redis.call('DECR', KEYS[1]) end "
                                  "return 0";

enum script { FAIL, CHECK, RESERVE, RELEASE, SCRIPTS };

static const char *const scripts[] = {[FAIL] = LUA_FAIL,
                                      [CHECK] = LUA_CHECK,
                                      [RESERVE] = LUA_RESERVE,
                                      [RELEASE] = LUA_RELEASE,
                                      [SCRIPTS] = NULL};

/* ------------------------------------------------------------------ helpers */

/* Redis answered an error (a count that is not a number, a server loading or out of memory) or
 * did not answer: the caller fails open all the same, so one code serves. */
static int unavailable(int rc)
{
    return rc == ERR_INTERNAL ? ERR_UNAVAILABLE : rc;
}

/* Runs a one-key script (arg: its one argument, or NULL) whose answer is an integer. */
static int eval_integer(struct throttle *t, const char *what, enum script script, const char *k,
                        const char *arg)
{
    redisReply *r = NULL;
    int rc = redis_conn_eval(t->redis, what, script, 1, (const char *[]){k}, arg ? 1 : 0,
                             (const char *[]){arg}, &r);
    if (rc != 0)
        return unavailable(rc);
    bool ok = r->type == REDIS_REPLY_INTEGER;
    freeReplyObject(r);
    if (!ok) {
        log_kv(LOG_ERROR, "a login throttle script answered something unexpected",
               (const struct log_kv[]){LOG_STR("script", what)}, 1);
        return ERR_INTERNAL;
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
    int rc = ERR_NOMEM;
    struct throttle *t = calloc(1, sizeof *t);
    struct redis_conn_options o = {
        .url = url, .name = "login throttle", .size = CONNECTIONS, .scripts = scripts};
    if (!t || (rc = redis_conn_new(&o, &t->redis)) != 0) {
        free(t);
        return rc;
    }
    memcpy(t->prefix, prefix, strlen(prefix) + 1);
    *out = t;
    return 0;
}

void throttle_free(struct throttle *t)
{
    if (t)
        redis_conn_free(t->redis);
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
    redisReply *r = NULL;
    int rc = redis_conn_eval(t->redis, "check", CHECK, 1, (const char *[]){k}, 0, NULL, &r);
    if (rc != 0)
        return unavailable(rc);
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
    return eval_integer(t, "fail", FAIL, k, window);
}

int throttle_reset(struct throttle *t, const char *key)
{
    char k[FULL_KEY_MAX];
    if (!t || full_key(t, key, k) != 0)
        return ERR_INVALID;
    redisReply *r = NULL;
    int rc = redis_conn_command(t->redis, "reset", 2, (const char *[]){"DEL", k}, NULL, &r);
    freeReplyObject(r);
    return unavailable(rc);
}

int throttle_reserve(struct throttle *t, int n, const char *const keys[], const int limits[],
                     int window_s, bool *blocked, int *retry_after_s)
{
    if (blocked)
        *blocked = false;
    if (retry_after_s)
        *retry_after_s = 0;
    if (!t || !keys || !limits || !blocked || !retry_after_s || n < 1 || n > THROTTLE_KEYS_MAX ||
        window_s < 1)
        return ERR_INVALID;
    char k[THROTTLE_KEYS_MAX][FULL_KEY_MAX];
    const char *kp[THROTTLE_KEYS_MAX];
    char args[1 + THROTTLE_KEYS_MAX][16];
    const char *ap[1 + THROTTLE_KEYS_MAX];
    snprintf(args[0], sizeof args[0], "%d", window_s);
    ap[0] = args[0];
    for (int i = 0; i < n; i++) {
        if (limits[i] < 1 || full_key(t, keys[i], k[i]) != 0)
            return ERR_INVALID;
        kp[i] = k[i];
        snprintf(args[i + 1], sizeof args[i + 1], "%d", limits[i]);
        ap[i + 1] = args[i + 1];
    }
    redisReply *r = NULL;
    int rc = redis_conn_eval(t->redis, "reserve", RESERVE, n, kp, n + 1, ap, &r);
    if (rc != 0)
        return unavailable(rc);
    bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
              r->element[0]->type == REDIS_REPLY_INTEGER &&
              r->element[1]->type == REDIS_REPLY_INTEGER;
    bool reserved = ok && r->element[0]->integer == 1;
    long long ttl = ok ? r->element[1]->integer : 0;
    freeReplyObject(r);
    if (!ok) {
        log_msg(LOG_ERROR, "the login throttle's reserve script answered something unexpected");
        return ERR_INTERNAL;
    }
    if (!reserved) {
        *blocked = true;
        /* The key may expire between the script and the answer (TTL 0): wait a second. */
        *retry_after_s = ttl < 1 ? 1 : ttl > INT32_MAX ? INT32_MAX : (int)ttl;
    }
    return 0;
}

int throttle_release(struct throttle *t, const char *key)
{
    char k[FULL_KEY_MAX];
    if (!t || full_key(t, key, k) != 0)
        return ERR_INVALID;
    return eval_integer(t, "release", RELEASE, k, NULL);
}
