/* queue_redis.c — the reliable job queue of queue.h on Redis, with hiredis.
 *
 * Every operation that touches more than one key is one Lua script, so it is atomic: Redis runs
 * a script to the end before any other command, and many processes may call queue_tick at once
 * without moving an id twice. The claim is the exception: BLMOVE blocks, and a blocking command
 * cannot run inside a script, so a claim is BLMOVE followed by a second call that writes the
 * lease. A process that dies between the two leaves an id in processing without a lease;
 * queue_tick notices it, gives it a lease, and puts it back on ready when that lease expires.
 *
 * Times: leases are compared with Redis' own clock (TIME inside the scripts), so hosts whose
 * clocks disagree still agree on when a lease expires. Only run_at (push, retry) comes from the
 * client, because the caller chose it (a backoff computed from the database's attempt count).
 *
 * Connection: one hiredis context per handle, behind the handle's mutex. Connect attempts wait
 * at most CONNECT_TIMEOUT_MS, commands COMMAND_TIMEOUT_MS (a blocking claim its wait plus that),
 * so an unreachable or frozen Redis is ERR_UNAVAILABLE, never a hang. A context that failed is
 * freed and the next call connects again; after a failed connect, calls fail fast for
 * CONNECT_BACKOFF_US instead of each paying for its own attempt. The log says once when Redis
 * goes away and once when it is back. hiredis writes with write(2): a program using this module
 * ignores SIGPIPE (main.c does), or a write to a socket Redis reset would kill it. */
#include "queue.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "err.h"
#include "log.h"
#include "timeutil.h"

#define CONNECT_TIMEOUT_MS 200
#define COMMAND_TIMEOUT_MS 1000
#define CONNECT_BACKOFF_US INT64_C(200000)
#define HOST_MAX           256
#define PREFIX_MAX         128
#define KEY_MAX            (PREFIX_MAX + 16)
#define ID_MAX             24    /* "-9223372036854775808" and a NUL fit */
#define TICK_BATCH         "100" /* ids moved per kind per tick: bounds the time a tick blocks */
#define VISIBILITY_MAX_S   86400 /* a day: a longer lease is a job that should heartbeat */
#define DEFAULT_PREFIX     "taskd"
#define DEFAULT_REDIS_PORT 6379

struct queue {
    pthread_mutex_t lock; /* one command (or blocking claim) at a time on ctx */
    redisContext *ctx;    /* NULL: not connected */
    char host[HOST_MAX];
    int port;
    int db;
    char visibility_ms[ID_MAX]; /* ARGV of the scripts, in decimal */
    char k_ready[KEY_MAX];
    char k_processing[KEY_MAX];
    char k_leases[KEY_MAX];
    char k_delayed[KEY_MAX];
    int64_t retry_after_us; /* no connect attempt before this (monotonic µs) */
    bool down;              /* Redis went away: logged once, until a connect succeeds */
};

/* ------------------------------------------------------------------ the scripts */

/* Every script reads the time from Redis and works in milliseconds since the epoch, like the
 * scores of <p>:leases and <p>:delayed. Keys always come in KEYS, never built inside a script,
 * so Redis knows which keys a script touches. */
#define LUA_NOW_MS                                                                                 \
    "local t = redis.call('TIME') "                                                                \
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "

/* KEYS: leases. ARGV: id, visibility_ms. The lease of a claim that BLMOVE just made. */
static const char LUA_LEASE[] =
    LUA_NOW_MS "redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1]) "
               "return 1";

/* KEYS: leases. ARGV: id, visibility_ms. Renews a lease that still exists: 1, or 0 when the
 * claim was lost (acked, or reclaimed because the lease had expired). */
static const char LUA_EXTEND[] =
    LUA_NOW_MS "if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end "
               "redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1]) "
               "return 1";

/* KEYS: processing, leases. ARGV: id. */
static const char LUA_ACK[] = "redis.call('LREM', KEYS[1], 1, ARGV[1]) "
                              "redis.call('ZREM', KEYS[2], ARGV[1]) "
                              "return 1";

/* KEYS: processing, leases, delayed. ARGV: id, run_at_ms. The job runs again even when its
 * claim was lost meanwhile: the database decided on a retry, and running twice is allowed. */
static const char LUA_RETRY[] = "redis.call('LREM', KEYS[1], 1, ARGV[1]) "
                                "redis.call('ZREM', KEYS[2], ARGV[1]) "
                                "redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1]) "
                                "return 1";

/* KEYS: processing, leases, ready. ARGV: id. Only a claim still held goes back (a reclaimed one
 * is on ready already), and to the claim end of ready: it was first in line before. */
static const char LUA_RELEASE[] = "local n = redis.call('LREM', KEYS[1], 1, ARGV[1]) "
                                  "redis.call('ZREM', KEYS[2], ARGV[1]) "
                                  "if n > 0 then redis.call('RPUSH', KEYS[3], ARGV[1]) end "
                                  "return n";

/* KEYS: ready, processing, leases, delayed. ARGV: visibility_ms, batch. Returns {promoted,
 * reclaimed, adopted}. "Adopted" are entries of processing without a lease (their claimer died
 * between BLMOVE and the lease): they get a lease now, so a later tick reclaims them one
 * visibility period from now, like any other expired claim. processing holds one entry per job
 * being worked on, about as many as there are busy workers, so scanning it is cheap; the scan
 * stops at 1000 entries (the newest: claims enter on the left) so a tick stays bounded. */
static const char LUA_TICK[] = LUA_NOW_MS
    "local batch = tonumber(ARGV[2]) "
    "local promoted, reclaimed, adopted = 0, 0, 0 "
    "local due = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, batch) "
    "for _, id in ipairs(due) do "
    "  redis.call('ZREM', KEYS[4], id) "
    "  redis.call('LPUSH', KEYS[1], id) "
    "  promoted = promoted + 1 "
    "end "
    /* LAB:BEGIN 3.4 Give expired claims back: lease gone, out of processing, onto ready. */
    "local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, batch) "
    "for _, id in ipairs(expired) do "
    "  redis.call('ZREM', KEYS[3], id) "
    "  if redis.call('LREM', KEYS[2], 1, id) > 0 then "
    "    redis.call('LPUSH', KEYS[1], id) "
    "    reclaimed = reclaimed + 1 "
    "  end "
    "end "
    /* LAB:END */
    "for _, id in ipairs(redis.call('LRANGE', KEYS[2], 0, 999)) do "
    "  if redis.call('ZADD', KEYS[3], 'NX', now + tonumber(ARGV[1]), id) == 1 then "
    "    adopted = adopted + 1 "
    "  end "
    "end "
    "return {promoted, reclaimed, adopted}";

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
static void conn_lost(struct queue *q, const char *what)
{
    if (!q->down) {
        /* errstr names the failure ("Connection refused", "Resource temporarily unavailable"
         * for a timeout), never anything secret. */
        struct log_kv kv[] = {LOG_STR("op", what),
                              LOG_STR("error", q->ctx ? q->ctx->errstr : "no reply")};
        log_kv(LOG_ERROR, "cannot reach the job queue's Redis; unavailable until it is back", kv,
               2);
    }
    q->down = true;
    if (q->ctx)
        redisFree(q->ctx);
    q->ctx = NULL;
}

/* Connects when there is no context. 0 or ERR_UNAVAILABLE. Lock held. */
static int conn_ensure(struct queue *q)
{
    if (q->ctx)
        return 0;
    if (q->down && mono_us() < q->retry_after_us)
        return ERR_UNAVAILABLE;
    /* Only a failed connect backs off: after a lost connection the next call tries at once. */
    q->retry_after_us = mono_us() + CONNECT_BACKOFF_US;
    q->ctx = redisConnectWithTimeout(q->host, q->port, ms_to_tv(CONNECT_TIMEOUT_MS));
    if (!q->ctx || q->ctx->err) {
        conn_lost(q, "connect");
        return ERR_UNAVAILABLE;
    }
    /* hiredis 0.14 bounds only the connect by that timeout; this one bounds every read and
     * write after it. Keepalives notice a peer that vanished while a worker sat idle. */
    if (redisSetTimeout(q->ctx, ms_to_tv(COMMAND_TIMEOUT_MS)) != REDIS_OK ||
        redisEnableKeepAlive(q->ctx) != REDIS_OK) {
        conn_lost(q, "connect");
        return ERR_UNAVAILABLE;
    }
    if (q->db != 0) {
        redisReply *r = redisCommand(q->ctx, "SELECT %d", q->db);
        bool ok = r && r->type == REDIS_REPLY_STATUS;
        if (r && r->type == REDIS_REPLY_ERROR) {
            struct log_kv kv[] = {LOG_INT("db", q->db), LOG_STR("error", r->str)};
            log_kv(LOG_ERROR, "Redis refused the database of the queue URL", kv, 2);
        }
        if (r)
            freeReplyObject(r);
        if (!ok) {
            conn_lost(q, "select");
            return ERR_UNAVAILABLE;
        }
    }
    if (q->down)
        log_msg(LOG_INFO, "the job queue's Redis is reachable again");
    q->down = false;
    q->retry_after_us = 0;
    return 0;
}

/* Error replies that mean "Redis, not this call": loading its data, a script running too long,
 * a replica that cannot write, out of memory. Worth a retry later, like a lost connection. */
static bool reply_is_transient(const redisReply *r)
{
    static const char *const codes[] = {"LOADING", "BUSY",     "MASTERDOWN", "READONLY",
                                        "OOM",     "TRYAGAIN", "CLUSTERDOWN"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        size_t n = strlen(codes[i]);
        if (r->len >= n && strncmp(r->str, codes[i], n) == 0 && (r->len == n || r->str[n] == ' '))
            return true;
    }
    return false;
}

/* Runs one command (connecting first if needed); lens may be NULL when every argument is a C
 * string. 0 with *out (the caller frees it with freeReplyObject), ERR_UNAVAILABLE, or
 * ERR_INTERNAL for an error reply. Lock held. */
static int run(struct queue *q, const char *what, int argc, const char **argv, const size_t *lens,
               redisReply **out)
{
    *out = NULL;
    int rc = conn_ensure(q);
    if (rc != 0)
        return rc;
    redisReply *r = redisCommandArgv(q->ctx, argc, argv, lens);
    if (!r) {
        conn_lost(q, what);
        return ERR_UNAVAILABLE;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        rc = reply_is_transient(r) ? ERR_UNAVAILABLE : ERR_INTERNAL;
        struct log_kv kv[] = {LOG_STR("op", what), LOG_STR("error", r->str)};
        log_kv(rc == ERR_UNAVAILABLE ? LOG_WARN : LOG_ERROR, "Redis refused a queue command", kv,
               2);
        freeReplyObject(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* Runs a script with n keys and m arguments (at most four of each). Lock held. */
static int run_script(struct queue *q, const char *what, const char *script, int nkeys,
                      const char *const *keys, int nargs, const char *const *args, redisReply **out)
{
    /* EVAL sends the script's text every time; Redis keeps the compiled script under its SHA1,
     * so that costs a few hundred bytes, not a compile, and needs no NOSCRIPT handling after a
     * restart or a SCRIPT FLUSH. */
    const char *argv[3 + 4 + 4];
    char n[16];
    if (nkeys < 0 || nkeys > 4 || nargs < 0 || nargs > 4)
        return ERR_INTERNAL;
    snprintf(n, sizeof n, "%d", nkeys);
    int argc = 0;
    argv[argc++] = "EVAL";
    argv[argc++] = script;
    argv[argc++] = n;
    for (int i = 0; i < nkeys; i++)
        argv[argc++] = keys[i];
    for (int i = 0; i < nargs; i++)
        argv[argc++] = args[i];
    return run(q, what, argc, argv, NULL, out);
}

/* Runs a script that answers an integer (into *result, may be NULL). Lock held. */
static int run_script_int(struct queue *q, const char *what, const char *script, int nkeys,
                          const char *const *keys, int nargs, const char *const *args,
                          long long *result)
{
    redisReply *r = NULL;
    int rc = run_script(q, what, script, nkeys, keys, nargs, args, &r);
    if (rc != 0)
        return rc;
    if (result)
        *result = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    return 0;
}

/* ------------------------------------------------------------------ helpers */

/* Parses "redis://HOST[:PORT][/DB]". No user or password: queue.h promises no more, and a URL
 * with a secret in it should never reach a log line by accident. */
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
    } else if (*p == '/') {
        /* "redis://host:port/" names database 0 */
    } else if (*p != '\0') {
        return ERR_INVALID;
    }
    return 0;
}

static void format_i64(int64_t v, char out[ID_MAX])
{
    snprintf(out, ID_MAX, "%" PRId64, v);
}

/* An id as the queue stores it: a positive decimal int64 and nothing else. */
static bool parse_id(const char *s, size_t len, int64_t *out)
{
    if (len == 0 || len >= ID_MAX || s[0] < '0' || s[0] > '9')
        return false; /* also refuses the sign and the spaces strtoll would accept */
    char tmp[ID_MAX];
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    errno = 0;
    char *end;
    long long v = strtoll(tmp, &end, 10);
    if (errno || *end != '\0' || v <= 0)
        return false;
    *out = (int64_t)v;
    return true;
}

/* ------------------------------------------------------------------ the interface */

int queue_open(const struct queue_options *o, struct queue **out)
{
    if (!out)
        return ERR_INVALID;
    *out = NULL;
    if (!o || !o->url || o->visibility_s < 1 || o->visibility_s > VISIBILITY_MAX_S)
        return ERR_INVALID;
    const char *prefix = o->prefix ? o->prefix : DEFAULT_PREFIX;
    if (prefix[0] == '\0' || strlen(prefix) > PREFIX_MAX)
        return ERR_INVALID;
    struct queue *q = calloc(1, sizeof *q);
    if (!q)
        return ERR_NOMEM;
    if (parse_url(o->url, q->host, sizeof q->host, &q->port, &q->db) != 0) {
        free(q);
        return ERR_INVALID;
    }
    format_i64((int64_t)o->visibility_s * 1000, q->visibility_ms);
    snprintf(q->k_ready, sizeof q->k_ready, "%s:ready", prefix);
    snprintf(q->k_processing, sizeof q->k_processing, "%s:processing", prefix);
    snprintf(q->k_leases, sizeof q->k_leases, "%s:leases", prefix);
    snprintf(q->k_delayed, sizeof q->k_delayed, "%s:delayed", prefix);
    if (pthread_mutex_init(&q->lock, NULL) != 0) {
        free(q);
        return ERR_INTERNAL;
    }
    *out = q;
    return 0;
}

void queue_free(struct queue *q)
{
    if (!q)
        return;
    if (q->ctx)
        redisFree(q->ctx);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

int queue_push(struct queue *q, int64_t job_id, int64_t run_at_ms)
{
    if (!q || job_id <= 0)
        return ERR_INVALID;
    char id[ID_MAX], at[ID_MAX];
    format_i64(job_id, id);
    format_i64(run_at_ms, at);
    bool now = run_at_ms <= clock_now_us() / 1000;
    const char *argv_ready[] = {"LPUSH", q->k_ready, id};
    const char *argv_delayed[] = {"ZADD", q->k_delayed, at, id};
    redisReply *r = NULL;
    pthread_mutex_lock(&q->lock);
    int rc =
        now ? run(q, "push", 3, argv_ready, NULL, &r) : run(q, "push", 4, argv_delayed, NULL, &r);
    pthread_mutex_unlock(&q->lock);
    if (r)
        freeReplyObject(r);
    return rc;
}

/* Moves one id from ready to processing, waiting up to wait_ms: 0 with *r (a string or nil).
 * BLMOVE's own timeout is in seconds with decimals; the socket's is set a second beyond it, so
 * Redis' "nothing came" answer arrives before our read gives up. Lock held. */
static int move_one(struct queue *q, int64_t wait_ms, redisReply **r)
{
    *r = NULL;
    int rc = conn_ensure(q);
    if (rc != 0)
        return rc;
    if (wait_ms <= 0) {
        /* BLMOVE with 0 would block for ever; LMOVE answers at once. */
        const char *argv[] = {"LMOVE", q->k_ready, q->k_processing, "RIGHT", "LEFT"};
        return run(q, "claim", 5, argv, NULL, r);
    }
    char secs[32];
    snprintf(secs, sizeof secs, "%" PRId64 ".%03d", wait_ms / 1000, (int)(wait_ms % 1000));
    const char *argv[] = {"BLMOVE", q->k_ready, q->k_processing, "RIGHT", "LEFT", secs};
    if (redisSetTimeout(q->ctx, ms_to_tv(wait_ms + COMMAND_TIMEOUT_MS)) != REDIS_OK) {
        conn_lost(q, "claim");
        return ERR_UNAVAILABLE;
    }
    rc = run(q, "claim", 6, argv, NULL, r);
    if (q->ctx && redisSetTimeout(q->ctx, ms_to_tv(COMMAND_TIMEOUT_MS)) != REDIS_OK)
        conn_lost(q, "claim");
    return rc;
}

int queue_claim(struct queue *q, int wait_ms, int64_t *job_id)
{
    if (!q || !job_id || wait_ms < 0)
        return ERR_INVALID;
    *job_id = 0;
    int64_t deadline = mono_us() + (int64_t)wait_ms * 1000;
    int rc;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        int64_t left_ms = (deadline - mono_us()) / 1000;
        redisReply *r = NULL;
        rc = move_one(q, left_ms > 0 ? left_ms : 0, &r);
        if (rc != 0)
            break;
        if (r->type == REDIS_REPLY_NIL) {
            freeReplyObject(r);
            rc = ERR_NOT_FOUND;
            break;
        }
        int64_t id = 0;
        if (r->type == REDIS_REPLY_STRING && parse_id(r->str, r->len, &id)) {
            freeReplyObject(r);
            char sid[ID_MAX];
            format_i64(id, sid);
            const char *keys[] = {q->k_leases};
            const char *args[] = {sid, q->visibility_ms};
            /* If this fails the id stays in processing without a lease: queue_tick gives it one
             * and hands it out again once that expires. The caller must not run it now. */
            rc = run_script_int(q, "claim lease", LUA_LEASE, 1, keys, 2, args, NULL);
            if (rc == 0)
                *job_id = id;
            break;
        }
        if (r->type != REDIS_REPLY_STRING) {
            freeReplyObject(r);
            log_msg(LOG_ERROR, "the queue's claim answered something unexpected");
            rc = ERR_INTERNAL;
            break;
        }
        /* Not an id this queue wrote: drop it, or it would be claimed and reclaimed for ever.
         * Its bytes are passed with their length: garbage may hold a NUL. */
        struct log_kv kv[] = {LOG_STR("key", q->k_ready), LOG_INT("length", (long long)r->len)};
        log_kv(LOG_WARN, "dropped an entry of the job queue that is not a job id", kv, 2);
        const char *argv[] = {"LREM", q->k_processing, "1", r->str};
        const size_t lens[] = {4, strlen(q->k_processing), 1, r->len};
        redisReply *d = NULL;
        rc = run(q, "claim", 4, argv, lens, &d);
        freeReplyObject(r);
        if (d)
            freeReplyObject(d);
        if (rc != 0)
            break;
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

int queue_ack(struct queue *q, int64_t job_id)
{
    if (!q || job_id <= 0)
        return ERR_INVALID;
    char id[ID_MAX];
    format_i64(job_id, id);
    const char *keys[] = {q->k_processing, q->k_leases};
    const char *args[] = {id};
    pthread_mutex_lock(&q->lock);
    int rc = run_script_int(q, "ack", LUA_ACK, 2, keys, 1, args, NULL);
    pthread_mutex_unlock(&q->lock);
    return rc;
}

int queue_retry(struct queue *q, int64_t job_id, int64_t run_at_ms)
{
    if (!q || job_id <= 0)
        return ERR_INVALID;
    char id[ID_MAX], at[ID_MAX];
    format_i64(job_id, id);
    format_i64(run_at_ms, at);
    const char *keys[] = {q->k_processing, q->k_leases, q->k_delayed};
    const char *args[] = {id, at};
    pthread_mutex_lock(&q->lock);
    int rc = run_script_int(q, "retry", LUA_RETRY, 3, keys, 2, args, NULL);
    pthread_mutex_unlock(&q->lock);
    return rc;
}

int queue_release(struct queue *q, int64_t job_id)
{
    if (!q || job_id <= 0)
        return ERR_INVALID;
    char id[ID_MAX];
    format_i64(job_id, id);
    const char *keys[] = {q->k_processing, q->k_leases, q->k_ready};
    const char *args[] = {id};
    pthread_mutex_lock(&q->lock);
    int rc = run_script_int(q, "release", LUA_RELEASE, 3, keys, 1, args, NULL);
    pthread_mutex_unlock(&q->lock);
    return rc;
}

/* ERR_NOT_FOUND when the job holds no lease any more: its claim was lost (reclaimed after the
 * lease expired, or acked), and another worker may be running it already. */
int queue_extend(struct queue *q, int64_t job_id)
{
    if (!q || job_id <= 0)
        return ERR_INVALID;
    char id[ID_MAX];
    format_i64(job_id, id);
    const char *keys[] = {q->k_leases};
    const char *args[] = {id, q->visibility_ms};
    long long renewed = 0;
    pthread_mutex_lock(&q->lock);
    int rc = run_script_int(q, "extend", LUA_EXTEND, 1, keys, 2, args, &renewed);
    pthread_mutex_unlock(&q->lock);
    if (rc == 0 && renewed != 1)
        rc = ERR_NOT_FOUND;
    return rc;
}

int queue_tick(struct queue *q, size_t *promoted, size_t *reclaimed)
{
    if (promoted)
        *promoted = 0;
    if (reclaimed)
        *reclaimed = 0;
    if (!q)
        return ERR_INVALID;
    const char *keys[] = {q->k_ready, q->k_processing, q->k_leases, q->k_delayed};
    const char *args[] = {q->visibility_ms, TICK_BATCH};
    redisReply *r = NULL;
    pthread_mutex_lock(&q->lock);
    int rc = run_script(q, "tick", LUA_TICK, 4, keys, 2, args, &r);
    pthread_mutex_unlock(&q->lock);
    if (rc != 0)
        return rc;
    long long counts[3] = {0};
    bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == 3;
    for (size_t i = 0; ok && i < 3; i++) {
        ok = r->element[i]->type == REDIS_REPLY_INTEGER && r->element[i]->integer >= 0;
        if (ok)
            counts[i] = r->element[i]->integer;
    }
    freeReplyObject(r);
    if (!ok) {
        log_msg(LOG_ERROR, "the queue's tick script answered something unexpected");
        return ERR_INTERNAL;
    }
    if (counts[1] > 0 || counts[2] > 0) {
        struct log_kv kv[] = {LOG_INT("reclaimed", counts[1]), LOG_INT("unleased", counts[2])};
        log_kv(LOG_WARN,
               "job claims expired or were found without a lease (a worker died or stalled); "
               "they run again",
               kv, 2);
    }
    if (promoted)
        *promoted = (size_t)counts[0];
    if (reclaimed)
        *reclaimed = (size_t)counts[1];
    return 0;
}

int queue_ping(struct queue *q)
{
    if (!q)
        return ERR_INVALID;
    const char *argv[] = {"PING"};
    redisReply *r = NULL;
    pthread_mutex_lock(&q->lock);
    int rc = run(q, "ping", 1, argv, NULL, &r);
    pthread_mutex_unlock(&q->lock);
    if (r)
        freeReplyObject(r);
    return rc == 0 ? 0 : ERR_UNAVAILABLE;
}
