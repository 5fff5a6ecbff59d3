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
 * Connection: the queue is one user of redis_conn.h, week 3's Redis client, which owns the URL,
 * the deadlines (a connect waits at most 200 ms, a command COMMAND_TIMEOUT_MS, a blocking claim
 * its wait plus that), the reconnects and the back-off after a failed connect.
 * So an unreachable or frozen Redis is ERR_UNAVAILABLE here, never a hang, and this file is only
 * about the queue: its keys, its scripts, and the claim. */
#include "queue.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "redis_conn.h"
#include "timeutil.h"

#define CONNECTIONS        4    /* a worker uses one; taskd's request threads push at once */
#define COMMAND_TIMEOUT_MS 1000 /* a worker is not a client waiting: it can afford to wait */
#define CONNECT_BACKOFF_MS 200  /* and to retry sooner */
#define PREFIX_MAX         128
#define KEY_MAX            (PREFIX_MAX + 16)
#define ID_MAX             24    /* "-9223372036854775808" and a NUL fit */
#define TICK_BATCH         "100" /* ids moved per kind per tick: bounds the time a tick blocks */
#define VISIBILITY_MAX_S   86400 /* a day: a longer lease is a job that should heartbeat */
#define DEFAULT_PREFIX     "taskd"

enum key { READY, PROCESSING, LEASES, DELAYED, KEYS };

static const char *const key_suffix[KEYS] = {"ready", "processing", "leases", "delayed"};

struct queue {
    struct redis_conn *redis;
    char visibility_ms[ID_MAX]; /* ARGV of the scripts, in decimal */
    char key[KEYS][KEY_MAX];    /* <prefix>:ready, ... by enum key */
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
    /* LAB:BEGIN 3.5 Give expired claims back: lease gone, out of processing, onto ready. */
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

enum script { LEASE, EXTEND, ACK, RETRY, RELEASE, TICK, SCRIPTS };

static const char *const scripts[SCRIPTS + 1] = {
    /* and NULL */
    [LEASE] = LUA_LEASE, [EXTEND] = LUA_EXTEND,   [ACK] = LUA_ACK,
    [RETRY] = LUA_RETRY, [RELEASE] = LUA_RELEASE, [TICK] = LUA_TICK,
};

/* ------------------------------------------------------------------ helpers */

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

/* Runs a script on one job: KEYS are the queue's keys named in `which`, ARGV the job's id and
 * then `extra` (NULL: none). Its integer answer goes to *result (may be NULL). */
static int job_script(struct queue *q, const char *what, enum script script, int64_t job_id,
                      int nkeys, const enum key *which, const char *extra, long long *result)
{
    if (!q || job_id <= 0)
        return ERR_INVALID;
    const char *keys[KEYS];
    for (int i = 0; i < nkeys; i++)
        keys[i] = q->key[which[i]];
    char id[ID_MAX];
    format_i64(job_id, id);
    const char *args[] = {id, extra};
    redisReply *r = NULL;
    int rc = redis_conn_eval(q->redis, what, script, nkeys, keys, extra ? 2 : 1, args, &r);
    if (rc != 0)
        return rc;
    if (result)
        *result = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    return 0;
}

/* Runs a command whose answer does not matter beyond "it worked". */
static int command(struct queue *q, const char *what, int argc, const char **argv,
                   const size_t *lens)
{
    redisReply *r = NULL;
    int rc = redis_conn_command(q->redis, what, argc, argv, lens, &r);
    freeReplyObject(r);
    return rc;
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
    int rc = ERR_NOMEM;
    struct queue *q = calloc(1, sizeof *q);
    struct redis_conn_options ro = {
        .url = o->url,
        .name = "job queue",
        .size = CONNECTIONS,
        .scripts = scripts,
        .deadlines = {.command_ms = COMMAND_TIMEOUT_MS, .backoff_ms = CONNECT_BACKOFF_MS}};
    if (!q || (rc = redis_conn_new(&ro, &q->redis)) != 0)
        goto fail;
    format_i64((int64_t)o->visibility_s * 1000, q->visibility_ms);
    for (int k = 0; k < KEYS; k++)
        snprintf(q->key[k], sizeof q->key[k], "%s:%s", prefix, key_suffix[k]);
    *out = q;
    return 0;
fail:
    free(q);
    return rc;
}

void queue_free(struct queue *q)
{
    if (q)
        redis_conn_free(q->redis);
    free(q);
}

int queue_push(struct queue *q, int64_t job_id, int64_t run_at_ms)
{
    if (!q || job_id <= 0)
        return ERR_INVALID;
    char id[ID_MAX], at[ID_MAX];
    format_i64(job_id, id);
    format_i64(run_at_ms, at);
    if (run_at_ms <= clock_now_us() / 1000)
        return command(q, "push", 3, (const char *[]){"LPUSH", q->key[READY], id}, NULL);
    return command(q, "push", 4, (const char *[]){"ZADD", q->key[DELAYED], at, id}, NULL);
}

/* Moves one id from ready to processing, waiting up to wait_ms: 0 with *r (a string or nil).
 * BLMOVE's own timeout is in seconds with decimals. */
static int move_one(struct queue *q, int64_t wait_ms, redisReply **r)
{
    if (wait_ms <= 0) {
        /* BLMOVE with 0 would block for ever; LMOVE answers at once. */
        const char *argv[] = {"LMOVE", q->key[READY], q->key[PROCESSING], "RIGHT", "LEFT"};
        return redis_conn_command(q->redis, "claim", 5, argv, NULL, r);
    }
    char secs[32];
    snprintf(secs, sizeof secs, "%" PRId64 ".%03d", wait_ms / 1000, (int)(wait_ms % 1000));
    const char *argv[] = {"BLMOVE", q->key[READY], q->key[PROCESSING], "RIGHT", "LEFT", secs};
    return redis_conn_blocking(q->redis, "claim", (int)wait_ms, 6, argv, r);
}

int queue_claim(struct queue *q, int wait_ms, int64_t *job_id)
{
    if (!q || !job_id || wait_ms < 0)
        return ERR_INVALID;
    *job_id = 0;
    int64_t deadline = clock_mono_us() + (int64_t)wait_ms * 1000;
    for (;;) {
        int64_t left_ms = (deadline - clock_mono_us()) / 1000;
        redisReply *r = NULL;
        int rc = move_one(q, left_ms > 0 ? left_ms : 0, &r);
        if (rc != 0)
            return rc;
        /* LAB:BEGIN 3.4 A moved id (parse_id) is claimed once its lease (LEASE) is written. */
        int64_t id = 0;
        bool is_id = r->type == REDIS_REPLY_STRING && parse_id(r->str, r->len, &id);
        if (r->type == REDIS_REPLY_NIL || is_id) {
            freeReplyObject(r);
            if (!is_id)
                return ERR_NOT_FOUND;
            /* If this fails the id stays in processing without a lease: queue_tick gives it one
             * and hands it out again once that expires. The caller must not run it now. */
            rc = job_script(q, "claim lease", LEASE, id, 1, (const enum key[]){LEASES},
                            q->visibility_ms, NULL);
            if (rc == 0)
                *job_id = id;
            return rc;
        }
        /* LAB:END freeReplyObject(r); return ERR_NOT_FOUND; */
        if (r->type != REDIS_REPLY_STRING) {
            freeReplyObject(r);
            log_msg(LOG_ERROR, "the queue's claim answered something unexpected");
            return ERR_INTERNAL;
        }
        /* Not an id this queue wrote: drop it, or it would be claimed and reclaimed for ever.
         * Its bytes are passed with their length: garbage may hold a NUL. */
        struct log_kv kv[] = {LOG_STR("key", q->key[READY]), LOG_INT("length", (long long)r->len)};
        log_kv(LOG_WARN, "dropped an entry of the job queue that is not a job id", kv, 2);
        const char *argv[] = {"LREM", q->key[PROCESSING], "1", r->str};
        const size_t lens[] = {4, strlen(q->key[PROCESSING]), 1, r->len};
        rc = command(q, "claim", 4, argv, lens);
        freeReplyObject(r);
        if (rc != 0)
            return rc;
    }
}

int queue_ack(struct queue *q, int64_t job_id)
{
    return job_script(q, "ack", ACK, job_id, 2, (const enum key[]){PROCESSING, LEASES}, NULL, NULL);
}

int queue_retry(struct queue *q, int64_t job_id, int64_t run_at_ms)
{
    char at[ID_MAX];
    format_i64(run_at_ms, at);
    return job_script(q, "retry", RETRY, job_id, 3, (const enum key[]){PROCESSING, LEASES, DELAYED},
                      at, NULL);
}

int queue_release(struct queue *q, int64_t job_id)
{
    return job_script(q, "release", RELEASE, job_id, 3,
                      (const enum key[]){PROCESSING, LEASES, READY}, NULL, NULL);
}

/* ERR_NOT_FOUND when the job holds no lease any more: its claim was lost (reclaimed after the
 * lease expired, or acked), and another worker may be running it already. */
int queue_extend(struct queue *q, int64_t job_id)
{
    long long renewed = 0;
    int rc = job_script(q, "extend", EXTEND, job_id, 1, (const enum key[]){LEASES},
                        q ? q->visibility_ms : NULL, &renewed);
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
    const char *keys[] = {q->key[READY], q->key[PROCESSING], q->key[LEASES], q->key[DELAYED]};
    const char *args[] = {q->visibility_ms, TICK_BATCH};
    redisReply *r = NULL;
    int rc = redis_conn_eval(q->redis, "tick", TICK, 4, keys, 2, args, &r);
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
    return redis_conn_ping(q->redis);
}
