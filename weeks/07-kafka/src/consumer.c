/* consumer.c — the loop every event consumer runs: poll, dedupe, handle, commit (consumer.h).
 *
 * A polled message is "held" until it is finished: committed (handled or a duplicate) or
 * dead-lettered. While it is held the loop does not poll again, because a Kafka poll would hand
 * over the next message and, at the next commit, move the group's offset past the one that
 * failed. Two clocks decide when a held message is tried again: its failures (they count
 * towards max_attempts and end in the dead-letter topic) and the waits for a service that is
 * down (they do not count: the message is not at fault).
 *
 * A transactional handler may run in batches (batch_max > 1): the messages already fetched join
 * one transaction, each in a savepoint, and pay for one COMMIT, whose WAL flush (an fsync) is
 * most of a message's cost. The batch keeps a copy of each message, so that when its
 * transaction is lost they can be "replayed": held and handled again one at a time, in order,
 * from the copies, before the loop polls again. Nothing of a batch is committed to the broker
 * before its COMMIT.
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

enum { STMT_CLAIM = 10, STMT_SEEN = 11 };

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
    /* The batch: copies of its messages (batch_max slots, allocated when batching). After a
     * lost transaction, batch[replay_next..batch_n) are still to be handled alone. */
    struct batch_msg *batch;
    int batch_n;
    int replay_next;
};

/* A message of a batch, copied: its partition and offset for the broker commit after the
 * batch's COMMIT, and its key and value to handle it again alone. */
struct batch_msg {
    struct event_msg msg; /* key and value point into data */
    char *data;
    bool dup; /* done before: counted as a duplicate once committed */
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
    /* Mail is sent one event at a time (a transaction cannot undo it), and a bus that must
     * commit each message before the next poll (RabbitMQ) cannot batch. */
    int bus_max = event_consumer_max_uncommitted(bus);
    if (bus_max > 0 && c->o.batch_max > bus_max)
        c->o.batch_max = bus_max;
    if (!h->transactional || c->o.batch_max < 2)
        c->o.batch_max = 1;
    if (c->o.batch_max > 1) {
        c->batch = calloc((size_t)c->o.batch_max, sizeof *c->batch);
        if (!c->batch) {
            free(c);
            return ERR_NOMEM;
        }
    }
    *out = c;
    return 0;
}

/* Frees the copies and empties the batch. */
static void batch_clear(struct consumer *c)
{
    for (int i = 0; i < c->batch_n; i++)
        free(c->batch[i].data);
    c->batch_n = 0;
    c->replay_next = 0;
}

void consumer_free(struct consumer *c)
{
    if (!c)
        return;
    batch_clear(c);
    free(c->batch);
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

/* Not transactional: records e as done, after its effect (claim on a connection of its own,
 * where the INSERT commits at once). A crash before this line does the effect again on
 * redelivery (the notifier's mail carries a stable Message-ID for that). */
static int mark_done(struct pg_pool *pool, const char *name, const struct event *e)
{
    struct pg_conn *conn = NULL;
    int rc = pg_pool_acquire(pool, &conn);
    if (rc != 0)
        return rc;
    bool fresh = false;
    rc = claim(conn, name, e, &fresh); /* not fresh: done by a concurrent delivery, just as good */
    pg_pool_release(pool, conn);
    return rc;
}

/* How one event's work is opened, kept and undone: a transaction of its own, or a savepoint in
 * a batch's transaction (ROLLBACK TO SAVEPOINT undoes what followed the savepoint and leaves
 * the batch's earlier events in place). */
struct tx_verbs {
    const char *begin, *commit, *rollback;
};
static const struct tx_verbs TX_OWN = {"BEGIN", "COMMIT", "ROLLBACK"};
static const struct tx_verbs TX_SAVEPOINT = {"SAVEPOINT event", "RELEASE SAVEPOINT event",
                                             "ROLLBACK TO SAVEPOINT event"};

/* t->begin; claim; handle; t->commit, or t->rollback on a duplicate or a failure. 0 (*dup set),
 * or the handler's or the database's error. */
static int claim_and_handle(struct pg_conn *conn, const struct consumer_handler *h,
                            const struct tx_verbs *t, const struct event *e, bool *dup)
{
    int rc = 0;
    *dup = false;
    /* LAB:BEGIN 7.3 t->begin; claim e; handle it only when fresh; t->commit or t->rollback; *dup.
     */
    bool fresh = false;
    rc = pg_conn_command(conn, t->begin);
    if (rc == 0)
        rc = claim(conn, h->name, e, &fresh);
    if (rc == 0 && fresh)
        rc = h->handle(h->ctx, conn, e);
    if (rc == 0 && fresh)
        rc = pg_conn_command(conn, t->commit);
    else /* a duplicate, or a failure: nothing of this attempt stays */
        (void)pg_conn_command(conn, t->rollback);
    *dup = rc == 0 && !fresh;
    /* LAB:END (void)t; log_msg(LOG_WARN, "TODO(lab 7.3)"); rc = h->handle(h->ctx, conn, e); */
    return rc;
}

/* One event in a transaction of its own. */
static int run_transactional(struct consumer *c, const struct event *e, bool *dup)
{
    struct pg_conn *conn = NULL;
    int rc = pg_pool_acquire(c->pool, &conn);
    if (rc != 0)
        return rc;
    rc = claim_and_handle(conn, &c->h, &TX_OWN, e, dup);
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

/* The held message failed with rc (e is NULL when it did not parse): a wait for ERR_UNAVAILABLE,
 * otherwise a counted failure with its reason. */
static void fail_held(struct consumer *c, const struct event *e, int rc,
                      enum consumer_outcome *outcome)
{
    if (rc == ERR_UNAVAILABLE) {
        wait_for_service(c, outcome);
        return;
    }
    if (e)
        snprintf(c->reason, sizeof c->reason, "%s failed: %s", c->h.name, err_str(rc));
    else
        snprintf(c->reason, sizeof c->reason, "unparsable: %s", err_str(rc));
    count_failure(c, e, outcome);
}

/* Counts a message the broker now has as done. */
static void count_done(struct consumer *c, bool dup, const struct event *e)
{
    if (dup)
        c->stats.duplicates++;
    else
        c->stats.handled++;
    log_message(dup ? LOG_DEBUG : LOG_INFO, c, dup ? "duplicate: committed" : "handled", e);
}

/* The broker refused the commit of a message whose effect is done and durable. Trying the
 * same commit again cannot work: on Kafka the partition has gone to another member (a rebalance
 * ran inside a poll), on RabbitMQ the delivery died with its connection. Either way the broker
 * delivers the message again, here or to another member, and the dedupe finds it done. So it is
 * handed back: released, not retried. */
static void commit_refused(struct consumer *c, const struct event *e,
                           enum consumer_outcome *outcome)
{
    snprintf(c->reason, sizeof c->reason, "the broker refused the commit");
    log_message(LOG_WARN, c,
                "commit refused: the message will be delivered again (its effect is done)", e);
    c->stats.waits++;
    release_held(c);
    *outcome = CONSUMER_WAITING;
}

/* The held message, alone: parse, dedupe and handle, commit. */
static int handle_held(struct consumer *c, enum consumer_outcome *outcome)
{
    struct event e;
    event_init(&e);
    int rc = event_parse(c->msg.value, c->msg.value_len, &e);
    if (rc == ERR_NOMEM)
        return rc; /* still held: the next step tries again */
    if (rc != 0) {
        fail_held(c, NULL, rc, outcome);
        return 0;
    }
    bool dup = false;
    rc = c->h.transactional ? run_transactional(c, &e, &dup) : run_outside(c, &e, &dup);
    if (rc == 0) {
        if (event_consumer_commit(c->bus, &c->msg) != 0) {
            commit_refused(c, &e, outcome);
        } else {
            c->waits = 0;
            count_done(c, dup, &e);
            release_held(c);
            *outcome = dup ? CONSUMER_DUPLICATE : CONSUMER_HANDLED;
        }
    } else if (rc == ERR_NOMEM) {
        event_clear(&e);
        return rc;
    } else {
        fail_held(c, &e, rc, outcome);
    }
    event_clear(&e);
    return 0;
}

/* Copies m into the next slot of the batch. */
static int batch_add(struct consumer *c, const struct event_msg *m)
{
    struct batch_msg *b = &c->batch[c->batch_n];
    b->data = malloc(m->key_len + m->value_len + 1);
    if (!b->data)
        return ERR_NOMEM;
    if (m->key_len)
        memcpy(b->data, m->key, m->key_len);
    if (m->value_len)
        memcpy(b->data + m->key_len, m->value, m->value_len);
    b->data[m->key_len + m->value_len] = '\0';
    b->msg = *m;
    b->msg.key = m->key ? b->data : NULL;
    b->msg.value = b->data + m->key_len;
    b->dup = false;
    c->batch_n++;
    return 0;
}

/* The batch's transaction was lost: its messages are handled again alone, in order, from the
 * copies; the first is held now, after a wait. */
static void replay_batch(struct consumer *c, enum consumer_outcome *outcome)
{
    c->replay_next = 1;
    c->msg = c->batch[0].msg;
    c->held = true;
    c->failures = 0;
    c->reason[0] = '\0';
    c->stats.replays++;
    wait_for_service(c, outcome);
}

/* The held message, just polled, and the ones already fetched after it, up to batch_max: one
 * transaction, a savepoint each. See the comment at the top of the file. */
static int run_batch(struct consumer *c, enum consumer_outcome *outcome)
{
    struct pg_conn *conn = NULL;
    int rc = pg_pool_acquire(c->pool, &conn);
    if (rc == 0 && (rc = pg_conn_command(conn, "BEGIN")) != 0)
        pg_pool_release(c->pool, conn);
    if (rc != 0)
        return handle_held(c, outcome); /* alone: it meets the same outage and waits */

    struct event e;
    event_init(&e);
    int stop_rc = 0;          /* the error of the message that ended the batch, if one did */
    bool stop_parsed = false; /* ... and whether e holds it (it parsed) */
    for (;;) {
        rc = batch_add(c, &c->msg);
        if (rc != 0)
            break;
        stop_rc = event_parse(c->msg.value, c->msg.value_len, &e);
        if (stop_rc != 0)
            break;
        bool dup = false;
        stop_rc = claim_and_handle(conn, &c->h, &TX_SAVEPOINT, &e, &dup);
        if (stop_rc != 0) {
            stop_parsed = true;
            break;
        }
        event_clear(&e);
        c->batch[c->batch_n - 1].dup = dup;
        struct event_msg next;
        if (c->batch_n == c->o.batch_max || event_consumer_poll(c->bus, 0, &next) != 0)
            break; /* full, or nothing else fetched yet (or the broker is lost): commit these */
        c->msg = next;
    }
    /* The savepoints keep a failed event's work out; a transaction in any state but "in
     * progress" is lost (a COMMIT would only roll it back). */
    bool lost = rc != 0 || PQtransactionStatus(pg_conn_raw(conn)) != PQTRANS_INTRANS;
    if (!lost)
        lost = pg_conn_command(conn, "COMMIT") != 0;
    else
        (void)pg_conn_command(conn, "ROLLBACK");
    pg_pool_release(c->pool, conn);
    if (rc == ERR_NOMEM) { /* a copy failed: nothing committed anywhere; the loop ends */
        event_clear(&e);
        batch_clear(c);
        return rc;
    }

    int done = c->batch_n - (stop_rc != 0); /* the stopper, if any, is the last copy */
    if (lost) {
        log_message(LOG_WARN, c, "batch transaction lost: its messages are handled again alone",
                    NULL);
        event_clear(&e);
        replay_batch(c, outcome);
        return 0;
    }
    bool any_new = false, refused = false;
    for (int i = 0; i < done; i++) {
        c->msg = c->batch[i].msg;
        if (event_consumer_commit(c->bus, &c->batch[i].msg) != 0) {
            refused = true; /* handed back, as in commit_refused; the others still commit */
            log_message(LOG_WARN, c, "commit refused: the message will be delivered again", NULL);
            continue;
        }
        count_done(c, c->batch[i].dup, NULL);
        any_new |= !c->batch[i].dup;
    }
    if (done > 1)
        c->stats.batches++;
    if (refused) {
        c->stats.waits++;
        *outcome = CONSUMER_WAITING;
    } else {
        c->waits = 0;
        *outcome = any_new ? CONSUMER_HANDLED : CONSUMER_DUPLICATE;
    }
    if (stop_rc == 0) {
        release_held(c);
        batch_clear(c);
        return 0;
    }
    /* The message that ended the batch is held, its batch attempt counted like any other. */
    c->msg = c->batch[done].msg;
    c->replay_next = c->batch_n; /* nothing to replay; the copies live while it is held */
    if (stop_rc == ERR_NOMEM) {
        event_clear(&e);
        return stop_rc;
    }
    fail_held(c, stop_parsed ? &e : NULL, stop_rc, outcome);
    event_clear(&e);
    return 0;
}

int consumer_step(struct consumer *c, enum consumer_outcome *outcome)
{
    *outcome = CONSUMER_IDLE;
    if (c->held) {
        sleep_until(c, c->retry_at);
        if (c->stop && *c->stop)
            return 0; /* stopped during the wait: the message is not committed, comes again */
        return handle_held(c, outcome);
    }
    if (c->replay_next < c->batch_n) { /* the rest of a lost batch, one at a time */
        c->msg = c->batch[c->replay_next++].msg;
        c->held = true;
        c->stats.replays++;
        return handle_held(c, outcome);
    }
    batch_clear(c);
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
    return c->o.batch_max > 1 ? run_batch(c, outcome) : handle_held(c, outcome);
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
