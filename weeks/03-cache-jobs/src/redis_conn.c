/* redis_conn.c — a small pool of hiredis connections (see redis_conn.h).
 *
 * The slots are an array, lent by week 2's lender.h as pg_pool's are: the connection used last
 * is lent first, and a borrower waits for one with a deadline. Connecting happens outside the lock:
 * one slow connect must not stall every other caller.
 *
 * Failures come in two kinds, and only one of them backs off. A connect that failed, or a
 * command that hit its timeout, says the server is gone or frozen: asking again at once would
 * cost the next caller the same timeout, so calls fail fast until backoff_ms has passed and one
 * caller probes. A connection the server closed (EOF, reset) says nothing about the next one:
 * Redis restarts, idle timeouts and failovers close connections, so the next call reconnects at
 * once. */
#include "redis_conn.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "err.h"
#include "lender.h"
#include "log.h"
#include "server_url.h"
#include "timeutil.h"

#define SIZE_MAX_CONNS 64
#define NAME_MAX_LEN   63
#define SHA_LEN        40
#define EVAL_ARGS_MAX  8
#define DEFAULT_PORT   6379

/* The defaults of struct redis_conn_deadlines. */
#define DEFAULT_WAIT_MS            500
#define DEFAULT_CONNECT_TIMEOUT_MS 200
#define DEFAULT_COMMAND_TIMEOUT_MS 500
#define DEFAULT_BACKOFF_MS         1000

struct slot {
    redisContext *ctx; /* NULL: not connected */
};

struct redis_conn {
    pthread_mutex_t lock;  /* guards down, retry_after_us, sha */
    struct lender *lender; /* which slots are free (week 2's lender.h) */
    char name[NAME_MAX_LEN + 1];
    char host[SERVER_URL_PART_MAX + 1];
    int port;
    int db;
    char user[SERVER_URL_PART_MAX + 1];     /* "" with a password: AUTH with the password alone */
    char password[SERVER_URL_PART_MAX + 1]; /* "": no AUTH */
    int wait_ms, connect_timeout_ms, command_timeout_ms;
    int64_t backoff_us;
    const char *const *scripts;
    size_t nscripts;
    char (*sha)[SHA_LEN + 1]; /* the scripts' SHA1s once SCRIPT LOAD told us, else "" */
    struct slot *slots;
    size_t size;
    bool down;              /* Redis went away: logged once, until a call succeeds */
    int64_t retry_after_us; /* while down, no call before this one (monotonic µs) */
};

static struct timeval ms_to_tv(int64_t ms)
{
    return (struct timeval){.tv_sec = (time_t)(ms / 1000),
                            .tv_usec = (suseconds_t)(ms % 1000) * 1000};
}

/* ------------------------------------------------------------------ the URL */

/* Parses redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] into r (server_url.h reads all but the
 * database, 0 by default). NULL on success, or why the URL is refused: anything else (TLS,
 * options) is refused rather than ignored. */
static const char *parse_url(const char *url, struct redis_conn *r)
{
    struct server_url u;
    const char *why = server_url_parse(url, "redis://", DEFAULT_PORT, &u);
    const char *s = u.rest;
    long db = 0;
    if (!why && *s == '/' && s[1] != '\0') { /* "redis://host:port/" is database 0 */
        char *end = NULL;
        errno = 0;
        db = isdigit((unsigned char)s[1]) ? strtol(s + 1, &end, 10) : -1;
        if (errno != 0 || db < 0 || db > INT_MAX || *end != '\0')
            why = "the database is not a number (options are not supported)";
    } else if (!why && *s != '\0' && strcmp(s, "/") != 0) {
        why = "something follows the port that is not a database number";
    }
    if (!why) {
        memcpy(r->host, u.host, sizeof r->host);
        memcpy(r->user, u.user, sizeof r->user);
        memcpy(r->password, u.password, sizeof r->password);
        r->port = u.port;
        r->db = (int)db;
    }
    explicit_bzero(u.password, sizeof u.password);
    return why;
}

/* ------------------------------------------------------------------ health: down and back */

/* Records a failure: calls fail fast for the backoff when `back_off`, else the next call tries
 * again at once. Logs only the first failure of a run; why never holds a secret. */
static void note_down(struct redis_conn *r, const char *what, const char *why, bool back_off)
{
    pthread_mutex_lock(&r->lock);
    bool was_down = r->down;
    r->down = true;
    r->retry_after_us = back_off ? clock_mono_us() + r->backoff_us : 0;
    pthread_mutex_unlock(&r->lock);
    if (!was_down) {
        struct log_kv kv[] = {LOG_STR("client", r->name), LOG_STR("op", what),
                              LOG_STR("error", why)};
        log_kv(LOG_ERROR, "cannot reach Redis; calls fail fast until it is back", kv, 3);
    }
}

static void note_up(struct redis_conn *r)
{
    pthread_mutex_lock(&r->lock);
    bool was_down = r->down;
    r->down = false;
    pthread_mutex_unlock(&r->lock);
    if (was_down) {
        struct log_kv kv[] = {LOG_STR("client", r->name)};
        log_kv(LOG_INFO, "Redis is reachable again", kv, 1);
    }
}

/* ------------------------------------------------------------------ one connection */

/* Sends a command on ctx. The reply (possibly an error reply), or NULL with *why (ctx's text,
 * valid until ctx is freed) and *timed_out. */
static redisReply *ctx_command(redisContext *ctx, int argc, const char **argv, const size_t *lens,
                               const char **why, bool *timed_out)
{
    redisReply *reply = redisCommandArgv(ctx, argc, argv, lens);
    if (reply)
        return reply;
    /* A read that hit the socket timeout fails with EAGAIN, which hiredis reports as "Resource
     * temporarily unavailable": say what it means. */
    *timed_out = ctx->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
    *why = *timed_out ? "no answer within the command timeout"
           : ctx->err ? ctx->errstr
                      : "no reply";
    return NULL;
}

/* Runs one set-up command (AUTH, SELECT) that must answer +OK. NULL, or why not. */
static const char *setup_command(redisContext *ctx, int argc, const char **argv, char *buf,
                                 size_t len, bool *timed_out)
{
    const char *why = NULL;
    redisReply *reply = ctx_command(ctx, argc, argv, NULL, &why, timed_out);
    if (!reply)
        return why;
    if (reply->type != REDIS_REPLY_STATUS) {
        /* argv[0] only: AUTH's arguments are the secret. */
        snprintf(buf, len, "%s: %s", argv[0],
                 reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        why = buf;
    }
    freeReplyObject(reply);
    return why;
}

/* Connects slot c (outside the lock): connect, deadlines, AUTH, SELECT. 0 or ERR_UNAVAILABLE. */
static int slot_connect(struct redis_conn *r, struct slot *c)
{
    char buf[160];
    const char *why = "out of memory";
    bool timed_out = true; /* a connect that fails backs off, whatever the reason */
    redisContext *ctx = redisConnectWithTimeout(r->host, r->port, ms_to_tv(r->connect_timeout_ms));
    if (!ctx)
        goto fail;
    if (ctx->err) {
        why = ctx->errstr;
        goto fail;
    }
    /* hiredis 0.14 bounds only the connect by that timeout; this one bounds every read and write
     * after it. Keepalives notice a peer that vanished while the connection sat idle. */
    if (redisSetTimeout(ctx, ms_to_tv(r->command_timeout_ms)) != REDIS_OK ||
        redisEnableKeepAlive(ctx) != REDIS_OK) {
        why = "cannot set the command timeout";
        goto fail;
    }
    if (r->password[0]) {
        const char *with_user[] = {"AUTH", r->user, r->password};
        const char *alone[] = {"AUTH", r->password};
        if ((why = r->user[0] ? setup_command(ctx, 3, with_user, buf, sizeof buf, &timed_out)
                              : setup_command(ctx, 2, alone, buf, sizeof buf, &timed_out)))
            goto fail;
    }
    if (r->db != 0) {
        char db[16];
        snprintf(db, sizeof db, "%d", r->db);
        const char *argv[] = {"SELECT", db};
        if ((why = setup_command(ctx, 2, argv, buf, sizeof buf, &timed_out)))
            goto fail;
    }
    c->ctx = ctx;
    note_up(r);
    return 0;
fail:
    note_down(r, "connect", why, true); /* before the free: why may point into ctx */
    redisFree(ctx);
    return ERR_UNAVAILABLE;
}

/* An idle connection is usable when the server has sent nothing since our last reply: we never
 * subscribe, so anything readable is the server closing it (a restart, an idle timeout). */
static bool slot_alive(const redisContext *ctx)
{
    struct pollfd pfd = {.fd = ctx->fd, .events = POLLIN};
    return poll(&pfd, 1, 0) == 0;
}

static void slot_release(struct redis_conn *r, struct slot *c)
{
    lender_give(r->lender, (size_t)(c - r->slots));
}

/* Borrows a connected slot. ERR_UNAVAILABLE at once while backing off (unless this caller is
 * the probe), or when no slot comes free in wait_ms, or the connect fails. */
static int slot_borrow(struct redis_conn *r, struct slot **out)
{
    *out = NULL;
    int64_t now = clock_mono_us();
    pthread_mutex_lock(&r->lock);
    bool fail_fast = r->down && now < r->retry_after_us;
    if (r->down && !fail_fast)
        r->retry_after_us = now + r->backoff_us; /* this caller probes; the others fail fast */
    pthread_mutex_unlock(&r->lock);
    if (fail_fast)
        return ERR_UNAVAILABLE;
    size_t i = 0;
    if (lender_take(r->lender, r->wait_ms, &i) != 0) {
        struct log_kv kv[] = {LOG_STR("client", r->name)};
        log_kv(LOG_WARN, "no Redis connection came free in time", kv, 1);
        return ERR_UNAVAILABLE;
    }
    struct slot *c = &r->slots[i];

    if (c->ctx && !slot_alive(c->ctx)) {
        redisFree(c->ctx);
        c->ctx = NULL;
    }
    if (!c->ctx && slot_connect(r, c) != 0) {
        slot_release(r, c);
        return ERR_UNAVAILABLE;
    }
    *out = c;
    return 0;
}

/* Runs a command on a borrowed slot: 0 with the reply (possibly an error reply), or
 * ERR_UNAVAILABLE when the connection failed. A failed context is in an unknown state (a reply
 * may still be on its way), so it is freed and the slot reconnects on a later borrow. */
static int slot_run(struct redis_conn *r, struct slot *c, const char *what, int argc,
                    const char **argv, const size_t *lens, redisReply **out)
{
    const char *why = NULL;
    bool timed_out = false;
    *out = ctx_command(c->ctx, argc, argv, lens, &why, &timed_out);
    if (*out) {
        note_up(r); /* a probe may have used a connection that had stayed open */
        return 0;
    }
    note_down(r, what, why, timed_out);
    redisFree(c->ctx);
    c->ctx = NULL;
    return ERR_UNAVAILABLE;
}

/* Error replies that mean "Redis, not this call": loading its data, a script running too long,
 * a replica that cannot write, out of memory. Worth a retry later, like a lost connection. */
static bool reply_is_transient(const redisReply *reply)
{
    static const char *const codes[] = {"LOADING", "BUSY",     "MASTERDOWN", "READONLY",
                                        "OOM",     "TRYAGAIN", "CLUSTERDOWN"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        size_t n = strlen(codes[i]);
        if (reply->len >= n && strncmp(reply->str, codes[i], n) == 0 &&
            (reply->len == n || reply->str[n] == ' '))
            return true;
    }
    return false;
}

/* Turns an error reply into a code (and frees it, clearing *reply); other replies pass. */
static int reply_check(struct redis_conn *r, const char *what, redisReply **reply)
{
    if ((*reply)->type != REDIS_REPLY_ERROR)
        return 0;
    int rc = reply_is_transient(*reply) ? ERR_UNAVAILABLE : ERR_INTERNAL;
    struct log_kv kv[] = {LOG_STR("client", r->name), LOG_STR("op", what),
                          LOG_STR("error", (*reply)->str)};
    log_kv(rc == ERR_UNAVAILABLE ? LOG_WARN : LOG_ERROR, "Redis refused a command", kv, 3);
    freeReplyObject(*reply);
    *reply = NULL;
    return rc;
}

/* ------------------------------------------------------------------ the interface */

int redis_conn_new(const struct redis_conn_options *o, struct redis_conn **out)
{
    if (!out)
        return ERR_INVALID;
    *out = NULL;
    const struct redis_conn_deadlines *d = o ? &o->deadlines : NULL;
    if (!o || !o->url || !o->name || o->size < 1 || o->size > SIZE_MAX_CONNS || d->wait_ms < 0 ||
        d->connect_ms < 0 || d->command_ms < 0 || d->backoff_ms < 0)
        return ERR_INVALID;
    int rc = ERR_NOMEM;
    struct redis_conn *r = calloc(1, sizeof *r);
    if (!r)
        return ERR_NOMEM;
    snprintf(r->name, sizeof r->name, "%s", o->name);
    const char *why = parse_url(o->url, r);
    if (why) {
        /* The URL itself is never logged: it may carry a password. */
        struct log_kv kv[] = {LOG_STR("client", r->name), LOG_STR("why", why)};
        log_kv(LOG_ERROR, "the Redis URL is not redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]", kv, 2);
        rc = ERR_INVALID;
        goto fail;
    }
    while (o->scripts && o->scripts[r->nscripts])
        r->nscripts++;
    r->slots = calloc(o->size, sizeof *r->slots);
    r->sha = calloc(r->nscripts ? r->nscripts : 1, sizeof *r->sha);
    if (!r->slots || !r->sha || (rc = lender_new(o->size, &r->lender)) != 0)
        goto fail;
    if (pthread_mutex_init(&r->lock, NULL) != 0) {
        rc = ERR_INTERNAL;
        goto fail;
    }
    r->size = o->size;
    r->wait_ms = d->wait_ms ? d->wait_ms : DEFAULT_WAIT_MS;
    r->connect_timeout_ms = d->connect_ms ? d->connect_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    r->command_timeout_ms = d->command_ms ? d->command_ms : DEFAULT_COMMAND_TIMEOUT_MS;
    r->backoff_us = (int64_t)(d->backoff_ms ? d->backoff_ms : DEFAULT_BACKOFF_MS) * 1000;
    r->scripts = o->scripts;
    *out = r;
    return 0;
fail:
    lender_free(r->lender);
    free(r->slots);
    free(r->sha);
    explicit_bzero(r->password, sizeof r->password);
    free(r);
    return rc;
}

void redis_conn_free(struct redis_conn *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->size; i++)
        redisFree(r->slots[i].ctx);
    lender_free(r->lender);
    pthread_mutex_destroy(&r->lock);
    free(r->slots);
    free(r->sha);
    /* The password leaves no copy behind in freed memory (a core dump, the next allocation). */
    explicit_bzero(r->password, sizeof r->password);
    free(r);
}

int redis_conn_command(struct redis_conn *r, const char *what, int argc, const char **argv,
                       const size_t *lens, redisReply **out)
{
    if (out)
        *out = NULL;
    if (!r || !what || argc < 1 || !argv || !out)
        return ERR_INVALID;
    struct slot *c = NULL;
    int rc = slot_borrow(r, &c);
    if (rc != 0)
        return rc;
    if ((rc = slot_run(r, c, what, argc, argv, lens, out)) == 0)
        rc = reply_check(r, what, out);
    slot_release(r, c);
    return rc;
}

int redis_conn_blocking(struct redis_conn *r, const char *what, int wait_ms, int argc,
                        const char **argv, redisReply **out)
{
    if (out)
        *out = NULL;
    if (!r || !what || wait_ms < 0 || argc < 1 || !argv || !out)
        return ERR_INVALID;
    struct slot *c = NULL;
    int rc = slot_borrow(r, &c);
    if (rc != 0)
        return rc;
    /* The server answers "nothing came" after wait_ms; the socket waits a command timeout
     * beyond that, so that answer arrives before our read gives up. */
    if (redisSetTimeout(c->ctx, ms_to_tv((int64_t)wait_ms + r->command_timeout_ms)) != REDIS_OK) {
        rc = ERR_UNAVAILABLE;
    } else if ((rc = slot_run(r, c, what, argc, argv, NULL, out)) == 0) {
        rc = reply_check(r, what, out);
    }
    if (c->ctx && redisSetTimeout(c->ctx, ms_to_tv(r->command_timeout_ms)) != REDIS_OK) {
        redisFree(c->ctx); /* a connection without its deadline must not be lent again */
        c->ctx = NULL;
    }
    slot_release(r, c);
    return rc;
}

/* The SHA1 of script i as Redis names it, asking the server the first time (SCRIPT LOAD, which
 * also stores the script there). 0 with sha filled, or a code as redis_conn_command's. */
static int script_sha(struct redis_conn *r, struct slot *c, size_t i, char sha[SHA_LEN + 1])
{
    pthread_mutex_lock(&r->lock);
    memcpy(sha, r->sha[i], SHA_LEN + 1);
    pthread_mutex_unlock(&r->lock);
    if (sha[0])
        return 0;
    const char *argv[] = {"SCRIPT", "LOAD", r->scripts[i]};
    redisReply *reply = NULL;
    int rc = slot_run(r, c, "script load", 3, argv, NULL, &reply);
    if (rc == 0 && (rc = reply_check(r, "script load", &reply)) == 0) {
        if (reply->type != REDIS_REPLY_STRING || reply->len != SHA_LEN) {
            rc = ERR_INTERNAL;
        } else {
            memcpy(sha, reply->str, SHA_LEN);
            sha[SHA_LEN] = '\0';
            pthread_mutex_lock(&r->lock);
            memcpy(r->sha[i], sha, SHA_LEN + 1);
            pthread_mutex_unlock(&r->lock);
        }
        freeReplyObject(reply);
    }
    return rc;
}

int redis_conn_eval(struct redis_conn *r, const char *what, size_t script, int nkeys,
                    const char *const *keys, int nargs, const char *const *args, redisReply **out)
{
    if (out)
        *out = NULL;
    if (!r || !what || script >= r->nscripts || nkeys < 0 || nkeys > EVAL_ARGS_MAX || nargs < 0 ||
        nargs > EVAL_ARGS_MAX || !out)
        return ERR_INVALID;
    char sha[SHA_LEN + 1];
    char nk[16];
    snprintf(nk, sizeof nk, "%d", nkeys);
    const char *argv[3 + 2 * EVAL_ARGS_MAX] = {"EVALSHA", sha, nk};
    int argc = 3;
    for (int i = 0; i < nkeys; i++)
        argv[argc++] = keys[i];
    for (int i = 0; i < nargs; i++)
        argv[argc++] = args[i];
    struct slot *c = NULL;
    int rc = slot_borrow(r, &c);
    if (rc != 0)
        return rc;
    if ((rc = script_sha(r, c, script, sha)) != 0 ||
        (rc = slot_run(r, c, what, argc, argv, NULL, out)) != 0)
        goto done;
    if ((*out)->type == REDIS_REPLY_ERROR && strncmp((*out)->str, "NOSCRIPT", 8) == 0) {
        /* The server forgot it (a restart, SCRIPT FLUSH, a failover): EVAL sends the text,
         * and stores the script again under the same SHA1. */
        freeReplyObject(*out);
        *out = NULL;
        argv[0] = "EVAL";
        argv[1] = r->scripts[script];
        if ((rc = slot_run(r, c, what, argc, argv, NULL, out)) != 0)
            goto done;
    }
    rc = reply_check(r, what, out);
done:
    slot_release(r, c);
    return rc;
}

int redis_conn_ping(struct redis_conn *r)
{
    const char *argv[] = {"PING"};
    redisReply *reply = NULL;
    int rc = redis_conn_command(r, "ping", 1, argv, NULL, &reply);
    bool pong = rc == 0 && reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0;
    freeReplyObject(reply);
    return pong ? 0 : ERR_UNAVAILABLE;
}
