/* Lab copy of weeks/07-kafka/src/consumer.c (made by shared/scripts/labgen.sh): write your code here.
 * Each TODO(lab N.M) is one exercise; labs/07-kafka/README.md explains them. */
/* consumer.c — the loop every event consumer runs: poll, dedupe, handle, commit (consumer.h).
 *
 * One message at a time. A polled message is "held" until it is finished: committed (handled or
 * a duplicate) or dead-lettered. While it is held the loop does not poll again, because a Kafka
 * poll would hand over the next message and, at the next commit, move the group's offset past
 * the one that failed. Two clocks decide when a held message is tried again: its failures (they
 * count towards max_attempts and end in the dead-letter topic) and the waits for a service that
 * is down (they do not count: the message is not at fault).
 *
 * The dedupe is a row in processed_events per (consumer, event_id), written on the consumer's
 * own pool; its statements use slots 10..19 of the connection (activity.c, which the projector
 * runs on the same connection, uses 0..2). */
#include "consumer.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "event.h"
#include "event_bus.h"
#include "log.h"
#include "pg_pool.h"
#include "timeutil.h"

enum { STMT_CLAIM = 10, STMT_SEEN = 11, STMT_MARK = 12 };

#define BACKOFF_CAP_MS 30000
#define REASON_MAX     200

struct consumer {
    struct consumer_options o;
    struct consumer_handler h;
    struct event_consumer *bus;
    struct pg_pool *pool;
    struct consumer_stats stats;
    volatile int *stop; /* consumer_run's flag, so a long backoff ends early; NULL in a step */
    /* The held message: borrowed from the bus, valid because we do not poll while holding. */
    bool held;
    struct event_msg msg;
    int failures;     /* counted failures of the held message */
    int waits;        /* waits in a row for a service that is down (any message) */
    int64_t retry_at; /* clock_mono_us when the held message may be tried again */
    char reason[REASON_MAX];
};

int consumer_new(const struct consumer_options *o, const struct consumer_handler *h,
                 struct event_consumer *bus, struct pg_pool *pool, struct consumer **out)
{
    *out = NULL;
    if (!o || !h || !h->name || !*h->name || strlen(h->name) > 64 || !h->handle || !bus || !pool ||
        o->max_attempts < 1 || o->backoff_ms < 0 || o->poll_timeout_ms < 0)
        return ERR_INVALID;
    struct consumer *c = calloc(1, sizeof *c);
    if (!c)
        return ERR_NOMEM;
    c->o = *o;
    c->h = *h;
    c->bus = bus;
    c->pool = pool;
    *out = c;
    return 0;
}

void consumer_free(struct consumer *c)
{
    free(c);
}

void consumer_stats(const struct consumer *c, struct consumer_stats *out)
{
    *out = c->stats;
}

/* backoff_ms * 2^(n-1), at most BACKOFF_CAP_MS. */
static int64_t backoff_ms(int base_ms, int n)
{
    int64_t d = base_ms;
    for (int i = 1; i < n && d < BACKOFF_CAP_MS; i++)
        d *= 2;
    return d < BACKOFF_CAP_MS ? d : BACKOFF_CAP_MS;
}

/* Sleeps until the monotonic deadline, in short naps so that a stop is noticed, ticking about
 * once a second when consumer_run drives the loop (a 30 s backoff is not a sign of death). */
static void sleep_until(const struct consumer *c, int64_t deadline_us)
{
    int64_t next_tick = clock_mono_us() + 1000000;
    for (;;) {
        if (c->stop && c->o.tick && clock_mono_us() >= next_tick) {
            c->o.tick(c->o.tick_ctx);
            next_tick += 1000000;
        }
        if (c->stop && *c->stop)
            return;
        int64_t left = deadline_us - clock_mono_us();
        if (left <= 0)
            return;
        if (left > 50000)
            left = 50000;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)left * 1000};
        nanosleep(&ts, NULL);
    }
}

/* ------------------------------------------------------------------ the dedupe */

/* Transactional: the claim and the effect commit together, so the row exists exactly when the
 * effect does. On 0, *fresh says whether this consumer had not done e before. */
static int claim(struct pg_conn *conn, const char *name, const struct event *e, bool *fresh)
{
    static const char sql[] = "INSERT INTO processed_events (consumer, event_id)\n"
                              "VALUES ($1, $2::uuid)\n"
                              "ON CONFLICT (consumer, event_id) DO NOTHING\n"
                              "RETURNING 1";
    const char *v[2] = {name, e->event_id};
    PGresult *res = NULL;
    int rc = pg_conn_exec(conn, STMT_CLAIM, sql, 2, v, &res);
    if (rc != 0)
        return rc;
    *fresh = PQntuples(res) == 1; /* a row back: inserted now; none: done before */
    PQclear(res);
    return 0;
}

/* Not transactional: has this consumer recorded e as done? */
static int seen_before(struct pg_pool *pool, const char *name, const struct event *e, bool *seen)
{
    static const char sql[] = "SELECT 1 FROM processed_events\n"
                              " WHERE consumer = $1 AND event_id = $2::uuid";
    const char *v[2] = {name, e->event_id};
    PGresult *res = NULL;
    int rc = pg_pool_exec(pool, STMT_SEEN, sql, 2, v, &res);
    if (rc == 0)
        *seen = PQntuples(res) > 0;
    PQclear(res);
    return rc;
}

/* Not transactional: records e as done, after its effect. A crash before this line does the
 * effect again on redelivery (the notifier's mail carries a stable Message-ID for that). */
static int mark_done(struct pg_pool *pool, const char *name, const struct event *e)
{
    static const char sql[] = "INSERT INTO processed_events (consumer, event_id)\n"
                              "VALUES ($1, $2::uuid)\n"
                              "ON CONFLICT (consumer, event_id) DO NOTHING";
    const char *v[2] = {name, e->event_id};
    PGresult *res = NULL;
    int rc = pg_pool_exec(pool, STMT_MARK, sql, 2, v, &res);
    PQclear(res);
    return rc;
}

/* BEGIN; claim; handle; COMMIT, or ROLLBACK on a duplicate or a failure. 0 (*dup set), or the
 * handler's or the database's error. */
static int run_transactional(struct consumer *c, const struct event *e, bool *dup)
{
    struct pg_conn *conn = NULL;
    int rc = pg_pool_acquire(c->pool, &conn);
    if (rc != 0)
        return rc;
    const struct consumer_handler *h = &c->h;
    *dup = false;
    /* TODO(lab 7.3): BEGIN; claim e; handle it only when fresh; COMMIT, or ROLLBACK; set *dup. */
    (void)claim; log_msg(LOG_WARN, "TODO(lab 7.3)"); rc = h->handle(h->ctx, conn, e);
    pg_pool_release(c->pool, conn); /* closed, not kept, if it is still in a transaction */
    return rc;
}

static int run_outside(struct consumer *c, const struct event *e, bool *dup)
{
    bool seen = false;
    int rc = seen_before(c->pool, c->h.name, e, &seen);
    if (rc != 0)
        return rc;
    *dup = seen;
    if (seen)
        return 0;
    rc = c->h.handle(c->h.ctx, NULL, e);
    return rc != 0 ? rc : mark_done(c->pool, c->h.name, e);
}

/* ------------------------------------------------------------------ one turn */

static void log_message(enum log_level level, const struct consumer *c, const char *what,
                        const struct event *e)
{
    struct log_kv kv[] = {
        LOG_STR("consumer", c->h.name),   LOG_INT("partition", c->msg.partition),
        LOG_INT("offset", c->msg.offset), LOG_STR("event_id", e ? e->event_id : ""),
        LOG_INT("attempts", c->failures), LOG_STR("reason", c->reason)};
    log_kv(level, what, kv, e || c->reason[0] ? 6 : 3);
}

/* The held message is finished: the next step polls. */
static void release_held(struct consumer *c)
{
    c->held = false;
    c->failures = 0;
    c->reason[0] = '\0';
}

/* A service is down: wait, then the same message again, not counted. */
static void wait_for_service(struct consumer *c, enum consumer_outcome *outcome)
{
    c->waits++;
    c->stats.waits++;
    c->retry_at = clock_mono_us() + backoff_ms(c->o.backoff_ms, c->waits) * 1000;
    if (c->waits == 1)
        log_message(LOG_WARN, c, "a service is down: waiting, then the same message again", NULL);
    *outcome = CONSUMER_WAITING;
}

/* A failure that counts: again after a backoff, or to the dead-letter topic once they are used
 * up. Sets *outcome. */
static void count_failure(struct consumer *c, const struct event *e, enum consumer_outcome *outcome)
{
    c->failures++;
    if (c->failures < c->o.max_attempts) {
        c->stats.retries++;
        c->retry_at = clock_mono_us() + backoff_ms(c->o.backoff_ms, c->failures) * 1000;
        log_message(LOG_WARN, c, "message failed: trying it again", e);
        *outcome = CONSUMER_RETRY;
        return;
    }
    int rc = event_consumer_dead_letter(c->bus, &c->msg, c->reason);
    if (rc != 0) {
        c->failures--; /* not sent: the next turn tries the dead letter again */
        wait_for_service(c, outcome);
        return;
    }
    c->stats.dead++;
    c->waits = 0;
    log_message(LOG_WARN, c, "message dead-lettered", e);
    release_held(c);
    *outcome = CONSUMER_DEAD;
}

int consumer_step(struct consumer *c, enum consumer_outcome *outcome)
{
    *outcome = CONSUMER_IDLE;
    if (c->held) {
        sleep_until(c, c->retry_at);
        if (c->stop && *c->stop)
            return 0; /* stopped during the wait: the message is not committed, comes again */
    } else {
        int rc = event_consumer_poll(c->bus, c->o.poll_timeout_ms, &c->msg);
        if (rc == ERR_NOT_FOUND)
            return 0;
        if (rc == ERR_UNAVAILABLE) { /* the broker is lost; the backend reconnects */
            c->stats.waits++;
            c->waits++;
            sleep_until(c, clock_mono_us() + backoff_ms(c->o.backoff_ms, c->waits) * 1000);
            *outcome = CONSUMER_WAITING;
            return 0;
        }
        if (rc != 0)
            return rc;
        c->held = true;
        c->failures = 0;
        c->reason[0] = '\0';
    }

    struct event e;
    event_init(&e);
    int rc = event_parse(c->msg.value, c->msg.value_len, &e);
    if (rc == ERR_NOMEM)
        return rc; /* still held: the next step tries again */
    if (rc != 0) {
        snprintf(c->reason, sizeof c->reason, "unparsable: %s", err_str(rc));
        count_failure(c, NULL, outcome);
        return 0;
    }
    bool dup = false;
    rc = c->h.transactional ? run_transactional(c, &e, &dup) : run_outside(c, &e, &dup);
    if (rc == 0) {
        int crc = event_consumer_commit(c->bus, &c->msg);
        if (crc != 0) {
            /* The effect and its processed row are durable: the next try finds a duplicate
             * and commits it then. */
            wait_for_service(c, outcome);
        } else {
            c->waits = 0;
            if (dup)
                c->stats.duplicates++;
            else
                c->stats.handled++;
            log_message(dup ? LOG_DEBUG : LOG_INFO, c, dup ? "duplicate: committed" : "handled",
                        &e);
            release_held(c);
            *outcome = dup ? CONSUMER_DUPLICATE : CONSUMER_HANDLED;
        }
    } else if (rc == ERR_UNAVAILABLE) {
        wait_for_service(c, outcome);
    } else if (rc == ERR_NOMEM) {
        event_clear(&e);
        return rc;
    } else {
        snprintf(c->reason, sizeof c->reason, "%s failed: %s", c->h.name, err_str(rc));
        count_failure(c, &e, outcome);
    }
    event_clear(&e);
    return 0;
}

int consumer_run(struct consumer *c, volatile int *stop)
{
    c->stop = stop;
    int rc = 0;
    while (!*stop) {
        enum consumer_outcome outcome;
        rc = consumer_step(c, &outcome);
        if (rc != 0)
            break;
        if (c->o.tick)
            c->o.tick(c->o.tick_ctx);
    }
    c->stop = NULL;
    return rc;
}
