/* consumer.h — the loop every event consumer runs: poll, dedupe, handle, commit; poison to DLQ.
 *
 * taskd-notifier and taskd-projector are this loop with a different handler. What makes a
 * consumer correct under at-least-once delivery lives here once:
 *
 * - Dedupe on event_id. processed_events (migration 0006) holds (consumer, event_id) for every
 *   event whose effect is done. A handler whose effect is in PostgreSQL (the projector) runs on
 *   the same connection, inside one transaction with the processed row: both or neither. A
 *   handler whose effect is outside the database (an e-mail) is run first, and its row written
 *   right after: a crash between the two sends the e-mail twice, which is why the mail carries
 *   the event_id as its Message-ID (receivers drop repeats).
 * - Commit the message only after its effect is durable (the transaction committed). A commit
 *   the broker refuses is not retried: the partition moved (Kafka) or the delivery died with its
 *   connection (RabbitMQ), so the broker delivers the message again and the dedupe finds it done.
 * - Batches (batch_max > 1, transactional handlers only): after a poll, the messages that are
 *   already fetched join the same transaction, each in a savepoint (a transaction inside the
 *   transaction: ROLLBACK TO undoes that message alone), up to batch_max; one COMMIT, then their
 *   commits to the broker in order. A message that fails ends the batch: the ones before it
 *   commit, and it is held and retried alone. If the batch's transaction is lost (the database
 *   went away), nothing of it was committed to the broker, and its messages are handled again,
 *   one transaction each, from copies kept for that.
 * - A poison message (one that does not parse, or whose handler fails with anything but
 *   ERR_UNAVAILABLE) is tried max_attempts times, then sent to the dead-letter topic with the
 *   reason, and committed: one bad message never stops the partition. ERR_UNAVAILABLE (the
 *   database or the SMTP server is down) is not the message's fault: the loop waits with backoff
 *   and tries the same message again, without counting and without moving on. */
#ifndef TASKD_CONSUMER_H
#define TASKD_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>

struct event;
struct event_consumer;
struct pg_conn;
struct pg_pool;

struct consumer_handler {
    const char *name; /* the consumer's name in processed_events and logs: "notifier" */
    /* true: handle() runs inside the dedupe transaction, on c (its effect is in the database).
     * false: handle() gets c == NULL and its effect is outside (mail). */
    bool transactional;
    /* Does the event's effect. 0, ERR_UNAVAILABLE (retry the same message later), or any other
     * code: a failure that counts towards the message's max_attempts. */
    int (*handle)(void *ctx, struct pg_conn *c, const struct event *e);
    void *ctx;
};

struct consumer_options {
    int max_attempts;    /* CONSUMER_MAX_ATTEMPTS: tries of a failing message before the DLQ */
    int backoff_ms;      /* CONSUMER_BACKOFF_MS: first wait after a failure, doubled, <= 30 s */
    int poll_timeout_ms; /* how long one poll waits (the loop checks `stop` between polls) */
    /* CONSUMER_BATCH_MAX, for a transactional handler: up to this many messages that are
     * already fetched share one transaction, each in a savepoint of its own, so they pay for
     * one COMMIT (one WAL flush) instead of one each. 0 or 1: a transaction per message. */
    int batch_max;
    /* Optional: called by consumer_run after every turn, and about once a second while a turn
     * waits out a backoff: where a program gives its supervisor a sign of life and logs its
     * stats. Must be quick. */
    void (*tick)(void *ctx);
    void *tick_ctx;
};

struct consumer;

/* A consumer over a joined bus consumer and a pool for processed_events (both borrowed). */
int consumer_new(const struct consumer_options *o, const struct consumer_handler *h,
                 struct event_consumer *bus, struct pg_pool *pool, struct consumer **out);
void consumer_free(struct consumer *c);

/* What one turn of the loop did (for tests and logs). A turn that ran a batch says HANDLED when
 * any of its messages was new, DUPLICATE when all were repeats, and RETRY when a message that
 * failed ended it (the ones before it are committed; consumer_stats counts each). */
enum consumer_outcome {
    CONSUMER_IDLE,      /* no message came */
    CONSUMER_HANDLED,   /* handled and committed */
    CONSUMER_DUPLICATE, /* already processed: committed without handling */
    CONSUMER_RETRY,     /* failed; will be tried again */
    CONSUMER_DEAD,      /* sent to the dead-letter topic and committed */
    CONSUMER_WAITING,   /* a service is down, or the broker refused a commit (the message
                         * comes again): nothing committed */
};

/* One turn: poll for a message (or, while one is held after a failure, wait its backoff and try
 * it again without polling: a Kafka poll would move past it), then what follows. 0 with *outcome
 * set, or an ERR_ code the loop cannot get past (ERR_NOMEM). */
int consumer_step(struct consumer *c, enum consumer_outcome *outcome);
/* Steps until *stop is set (a signal handler sets it). 0 or the error that ended it. */
int consumer_run(struct consumer *c, volatile int *stop);

/* Counters since consumer_new, for logs and tests. */
struct consumer_stats {
    uint64_t handled, duplicates, retries, dead, waits;
    uint64_t batches; /* transactions that committed more than one message */
    uint64_t replays; /* messages handled again alone after their batch's transaction was lost */
};
void consumer_stats(const struct consumer *c, struct consumer_stats *out);

#endif
