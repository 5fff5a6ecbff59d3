/* Lab copy of weeks/07-kafka/src/relay.c (made by shared/scripts/labgen.sh): write your code here.
 * Each TODO(lab N.M) is one exercise; labs/07-kafka/README.md explains them. */
/* relay.c — taskd-relay's loop (relay.h). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "event_program.h"
#include "event_bus.h"
#include "log.h"
#include "outbox.h"
#include "pg_pool.h"
#include "relay.h"
#include "timeutil.h"

/* A growable list of row ids: what the delivery reports said, waiting to be settled. */
struct ids {
    int64_t *v;
    size_t n, cap;
    bool lost; /* an id could not be kept (out of memory): its row comes back with its lease */
};

struct relay {
    struct relay_options o;
    struct pg_pool *pool;
    struct event_producer *producer;
    struct ids sent, failed;
    struct relay_stats stats;
    int64_t next_stats_us; /* monotonic */
};

static void ids_push(struct ids *l, int64_t id)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        int64_t *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->lost = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = id;
}

int relay_new(const struct relay_options *o, struct pg_pool *pool, struct relay **out)
{
    if (!o || !pool || !o->topic || o->batch < 1 || o->batch > OUTBOX_BATCH_MAX ||
        o->delivery_ms < 1 || o->lease_ms <= o->delivery_ms || o->poll_ms < 1 || o->stats_s < 1)
        return ERR_INVALID;
    struct relay *r = calloc(1, sizeof *r);
    if (!r)
        return ERR_NOMEM;
    r->o = *o;
    r->pool = pool;
    *out = r;
    return 0;
}

void relay_use_producer(struct relay *r, struct event_producer *p)
{
    r->producer = p;
}

void relay_free(struct relay *r)
{
    if (!r)
        return;
    free(r->sent.v);
    free(r->failed.v);
    free(r);
}

void relay_delivered(void *ctx, void *msg_ctx, int rc)
{
    struct relay *r = ctx;
    int64_t id = (int64_t)(intptr_t)msg_ctx;
    ids_push(rc == 0 ? &r->sent : &r->failed, id);
}

/* Writes what the reports said: sent rows are deleted (done), failed ones wait their backoff. Lists
 * that could not be written stay for the next turn (their rows are leased meanwhile). */
static int settle(struct relay *r, struct pg_conn *c)
{
    /* TODO(lab 7.2): r->sent: remove (sent); r->failed: retry later; empty what was written. */
    (void)c; (void)r; log_msg(LOG_ERROR, "TODO(lab 7.2)"); return 0;
}

/* Sends one row. A full local queue is waited out a little (its reports make room). */
static void send_row(struct relay *r, const struct outbox_row *row)
{
    char key[24];
    int klen = snprintf(key, sizeof key, "%lld", (long long)row->task_id);
    void *msg_ctx = (void *)(intptr_t)row->id;
    int rc = ERR_UNAVAILABLE;
    for (int tries = 0; tries < 10 && rc == ERR_UNAVAILABLE; tries++) {
        rc = event_producer_send(r->producer, r->o.topic, key, (size_t)klen, row->payload,
                                 row->payload_len, msg_ctx);
        if (rc == ERR_UNAVAILABLE)
            event_producer_poll(r->producer, 100);
    }
    if (rc != 0)
        ids_push(&r->failed, row->id); /* never queued: no report will come */
}

int relay_step(struct relay *r, size_t *published)
{
    *published = 0;
    if (!r->producer)
        return ERR_INVALID;
    struct pg_conn *c = NULL;
    int rc = pg_pool_acquire(r->pool, &c);
    if (rc != 0)
        return rc;
    /* Reports that came in since the last turn (late ones) are served and settled first. */
    event_producer_poll(r->producer, 0);
    rc = settle(r, c);
    struct outbox_row *rows = NULL;
    size_t n = 0;
    if (rc == 0)
        rc = outbox_claim(c, r->o.batch, r->o.lease_ms, &rows, &n);
    if (rc == 0 && n > 0) {
        r->stats.claimed += n;
        for (size_t i = 0; i < n; i++)
            send_row(r, &rows[i]);
        /* Waits for this batch's reports; those still out after the deadline are settled by a
         * later turn, or their rows come back when the lease ends. */
        (void)event_producer_flush(r->producer, r->o.delivery_ms);
        rc = settle(r, c);
        *published = n;
    }
    outbox_rows_free(rows, n);
    pg_pool_release(r->pool, c);
    return rc;
}

/* outbox_pending and the oldest row's age, in the log (week 9 makes them metrics), every
 * stats_s. */
static void report(struct relay *r)
{
    int64_t now = clock_mono_us();
    if (now < r->next_stats_us)
        return;
    r->next_stats_us = now + (int64_t)r->o.stats_s * 1000000;
    struct pg_conn *c = NULL;
    if (pg_pool_acquire(r->pool, &c) != 0)
        return;
    struct outbox_stats st = {0};
    if (outbox_stats(c, &st) == 0) {
        struct log_kv kv[] = {
            LOG_INT("outbox_pending", st.pending),
            LOG_INT("oldest_pending_ms", st.oldest_age_ms),
            LOG_INT("sent_total", (long long)r->stats.sent),
            LOG_INT("failed_total", (long long)r->stats.failed),
            LOG_INT("in_flight", (long long)event_producer_outstanding(r->producer)),
        };
        log_kv(LOG_INFO, "outbox", kv, sizeof kv / sizeof kv[0]);
    }
    pg_pool_release(r->pool, c);
}

static void pause_ms(int ms)
{
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL); /* a signal ends it early: the loop then sees *stop */
}

int relay_run(struct relay *r, volatile int *stop, const struct lifecycle *lc)
{
    bool db_down = false;
    while (!*stop) {
        if (lc)
            event_program_tick(lc);
        size_t published = 0;
        int rc = relay_step(r, &published);
        if (rc == ERR_NOMEM)
            return rc;
        if (rc == ERR_UNAVAILABLE || rc == ERR_INTERNAL || rc == ERR_CONFLICT) {
            if (!db_down)
                log_kv(LOG_WARN, "outbox: cannot reach the database; retrying every second",
                       (struct log_kv[]){LOG_STR("error", err_str(rc))}, 1);
            db_down = true;
            pause_ms(1000);
            continue;
        }
        if (db_down)
            log_msg(LOG_INFO, "outbox: the database answers again");
        db_down = false;
        report(r);
        if (published == 0) {
            /* Serves late reports while it waits; sleeps when there are none to wait for. */
            if (event_producer_outstanding(r->producer) > 0)
                event_producer_poll(r->producer, r->o.poll_ms);
            else
                pause_ms(r->o.poll_ms);
        }
    }
    /* Stopping: what is in flight gets its reports, and they are written down. */
    (void)event_producer_flush(r->producer, r->o.delivery_ms);
    struct pg_conn *c = NULL;
    if (pg_pool_acquire(r->pool, &c) == 0) {
        (void)settle(r, c);
        pg_pool_release(r->pool, c);
    }
    return 0;
}

void relay_stats(const struct relay *r, struct relay_stats *out)
{
    *out = r->stats;
}
