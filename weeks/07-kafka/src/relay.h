/* relay.h — taskd-relay's loop: the outbox's pending rows, published, settled on delivery.
 *
 * A turn of the loop: borrow a connection, claim a batch (outbox_claim: a lease, per-task
 * order), send each row to the topic with key = task id, wait for the delivery reports, then
 * settle: the rows the broker acknowledged are deleted, in one statement; the rows it
 * refused, or that timed out, are given back with a backoff. A row is deleted only from its
 * delivery report, never from a send that merely queued it: a relay that dies after queueing
 * loses nothing, because its rows come back when the lease ends. They may then be published
 * twice, which is why delivery is "at least once" and consumers dedupe.
 *
 * Delivery reports arrive on the bus's callback (relay_delivered), which only records the row
 * id in the "sent" or "failed" list; the loop settles the lists on its own connection. Row ids
 * travel as the message context (not pointers), so a report that arrives late, after its batch
 * was given up, is still settled correctly. */
#ifndef TASKD_RELAY_H
#define TASKD_RELAY_H

#include <stddef.h>
#include <stdint.h>

struct event_producer;
struct lifecycle;
struct pg_pool;

struct relay_options {
    const char *topic; /* EVENTS_TOPIC */
    size_t batch;      /* OUTBOX_BATCH: rows per claim, 1..OUTBOX_BATCH_MAX */
    int lease_ms;      /* OUTBOX_LEASE_MS: must exceed the bus's delivery deadline */
    int delivery_ms;   /* how long a turn waits for its reports (the bus's deadline) */
    int backoff_ms;    /* OUTBOX_BACKOFF_MS: a failed row waits this * 2^(attempts-1), <= 60 s */
    int poll_ms;       /* OUTBOX_POLL_MS: the pause after a turn that found nothing */
    int stats_s;       /* OUTBOX_STATS_SECONDS: how often outbox_pending is logged */
};

struct relay;

/* A relay over pool (borrowed). Its producer comes next: open it with relay_delivered and this
 * relay as ctx, then hand it over with relay_use_producer. 0, ERR_INVALID, ERR_NOMEM. */
int relay_new(const struct relay_options *o, struct pg_pool *pool, struct relay **out);
/* The bus's delivery callback (event_delivered_fn): ctx is the relay, msg_ctx the row id. */
void relay_delivered(void *ctx, void *msg_ctx, int rc);
void relay_use_producer(struct relay *r, struct event_producer *p); /* borrowed */
void relay_free(struct relay *r);

/* One turn. *published: rows sent in it (0: nothing was claimable). 0, or ERR_UNAVAILABLE when
 * the database is down (the caller waits and tries again), ERR_NOMEM. */
int relay_step(struct relay *r, size_t *published);
/* Turns until *stop is set: pauses poll_ms after an empty turn, backs off while the database is
 * down, logs outbox_pending and the oldest row's age every stats_s, and
 * calls event_program_tick(lc) each turn (lc may be NULL: tests). */
int relay_run(struct relay *r, volatile int *stop, const struct lifecycle *lc);

struct relay_stats {
    uint64_t claimed, sent, failed; /* rows, since relay_new */
};
void relay_stats(const struct relay *r, struct relay_stats *out);

#endif
