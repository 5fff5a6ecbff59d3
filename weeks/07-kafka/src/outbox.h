/* outbox.h — the outbox table's SQL: write a row, claim pending rows, settle them.
 *
 * The writer side (task_repo_outbox.c) adds a row inside the write's own transaction. The relay
 * (relay.h) claims rows, publishes them, and settles each from its delivery report: a row
 * the broker has is deleted, so every row in the table is an event not yet sent (migration
 * 0007 says why the table no longer keeps sent rows).
 *
 * Claiming. Several relays may run. A claim is one UPDATE that moves the rows' not_before past
 * now by a lease, choosing them with FOR UPDATE SKIP LOCKED: two relays claiming at the same
 * moment skip each other's rows instead of waiting or taking the same ones, and a relay killed
 * with kill -9 gives its rows back when the lease ends (then they are published again: the
 * consumers dedupe). SKIP LOCKED alone would let relay B take a task's second event while relay
 * A still holds its first, and publish them out of order; so a row is claimable only when no
 * older pending row of the same task exists. One event per task is in flight at a time; the
 * next follows when it is settled. Ordering per task is kept without any lock held across the
 * publish. */
#ifndef TASKD_OUTBOX_H
#define TASKD_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

struct pg_conn;
struct event;

#define OUTBOX_BATCH_MAX 500

/* Inserts e's row (payload = event_to_json). Run it on the write's connection, inside its
 * transaction. 0, ERR_NOMEM, or the database's error. */
int outbox_add(struct pg_conn *c, const struct event *e);
/* outbox_add as the transaction's last statement: the INSERT and COMMIT go out in one round
 * trip (pg_conn_exec_commit). 0 means both are done; otherwise roll back. */
int outbox_add_and_commit(struct pg_conn *c, const struct event *e);

struct outbox_row {
    int64_t id;
    int64_t task_id; /* the message key */
    int attempts;    /* including this claim */
    char *payload;   /* owned */
    size_t payload_len;
};

/* Claims up to max (<= OUTBOX_BATCH_MAX) claimable rows for lease_ms, oldest first. *rows is
 * an array of *n rows (free with outbox_rows_free). 0 or the database's error. */
int outbox_claim(struct pg_conn *c, size_t max, int lease_ms, struct outbox_row **rows, size_t *n);
void outbox_rows_free(struct outbox_row *rows, size_t n);

/* Settles delivered rows: deletes them (the topic has them now). One statement for the n ids. */
int outbox_remove_sent(struct pg_conn *c, const int64_t *ids, size_t n);
/* Gives rows back after a failed publish: each is claimable again after base_ms * 2^(its
 * attempts - 1), at most a minute. One statement for the n ids. */
int outbox_retry_later(struct pg_conn *c, const int64_t *ids, size_t n, int base_ms);

struct outbox_stats {
    int64_t pending;       /* rows not sent */
    int64_t oldest_age_ms; /* age of the oldest pending row; 0 when none */
};
int outbox_stats(struct pg_conn *c, struct outbox_stats *out);

#endif
