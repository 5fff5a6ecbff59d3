/* queue.h — a reliable job queue on Redis: at-least-once delivery with visibility timeouts.
 *
 * The queue carries job ids only; the job itself (type, payload, status, attempts, last error)
 * is a row of the jobs table in PostgreSQL (jobs_repo.h), which is the truth. Redis keys, all
 * under a prefix ("taskd" by default):
 *   <p>:ready       list   ids waiting for a worker
 *   <p>:processing  list   ids a worker has claimed
 *   <p>:leases      zset   id -> deadline (ms since the epoch) of the claim's lease
 *   <p>:delayed     zset   id -> run_at (ms since the epoch): delayed jobs and retries
 * A claim moves an id from ready to processing atomically (BLMOVE) and gives it a lease; a
 * worker that dies (SIGKILL) never acks, so once the lease expires queue_tick puts the id back
 * on ready and another worker runs it again. Hence at-least-once: job handlers are idempotent,
 * and finishing a job is fenced by its attempt number in the database (jobs_repo.h).
 *
 * A queue handle is a few Redis connections (redis_conn.h), each lent to one call at a time:
 * safe from several threads. A blocking claim holds one of them for its wait, so a worker uses
 * a handle of its own. */
#ifndef TASKD_QUEUE_H
#define TASKD_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct queue;

struct queue_options {
    const char *url;    /* redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (redis_conn.h) */
    const char *prefix; /* key prefix; NULL = "taskd" */
    int visibility_s;   /* lease of a claim, seconds (>= 1) */
};

/* No connection is required at open; calls reconnect as needed. ERR_INVALID, ERR_NOMEM. */
int queue_open(const struct queue_options *o, struct queue **out);
void queue_free(struct queue *q); /* NULL is a no-op */

/* Makes job_id runnable at run_at_ms (ms since the epoch; <= now: at once). 0, ERR_UNAVAILABLE. */
int queue_push(struct queue *q, int64_t job_id, int64_t run_at_ms);
/* Waits up to wait_ms for a ready job and claims it. 0 with *job_id, ERR_NOT_FOUND when none
 * came in time, ERR_UNAVAILABLE. */
int queue_claim(struct queue *q, int wait_ms, int64_t *job_id);
/* The claimed job is finished (succeeded, or failed for good): forget it. 0 also when it was no
 * longer held (reclaimed meanwhile). */
int queue_ack(struct queue *q, int64_t job_id);
/* The claimed job failed and will be tried again at run_at_ms (backoff). */
int queue_retry(struct queue *q, int64_t job_id, int64_t run_at_ms);
/* Gives a claimed job back at once (a worker stopping before it could finish). */
int queue_release(struct queue *q, int64_t job_id);
/* Renews the lease of a claimed job (a long job heartbeats with it). ERR_NOT_FOUND when the job
 * holds no lease any more (it was reclaimed or acked): the caller has lost its claim. */
int queue_extend(struct queue *q, int64_t job_id);
/* Housekeeping any process may run, atomically: delayed jobs that are due move to ready, and
 * claims whose lease expired move back to ready. Counts into *promoted / *reclaimed (may be
 * NULL). */
int queue_tick(struct queue *q, size_t *promoted, size_t *reclaimed);
/* 0 when Redis answers, ERR_UNAVAILABLE otherwise. */
int queue_ping(struct queue *q);

#endif
