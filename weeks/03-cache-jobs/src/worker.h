/* worker.h — the loop of taskd-worker: claim a job, run it, record the outcome, repeat.
 *
 * The API process only writes a job row and pushes its id (POST /exports); everything slow
 * happens here, in a process of its own that can crash, restart and scale out without the API
 * noticing. One worker runs one job at a time; run more processes for more throughput.
 *
 * What a turn of the loop does with a claimed id (queue.h, jobs_repo.h):
 *   jobs_start (the attempt number it returns is the fence)
 *   -> the handler of the job's type (export, reminder)
 *   -> success: jobs_succeed, then queue_ack
 *   -> failure: jobs_fail with a retry time (exponential backoff with jitter) and queue_retry,
 *      or, when the attempts are used up, jobs_fail for good and queue_ack (a dead letter: the
 *      row stays `failed` with its last error, for a person to look at).
 * The database is written before Redis is told, so a crash between the two leaves a job that
 * is finished in the row and merely redelivered by Redis: jobs_start then says ERR_CONFLICT
 * and the worker acks it. Between jobs the loop does the housekeeping: queue_tick (due retries
 * to ready, expired leases back to ready), the sweeper (jobs the row says are due but Redis
 * may have lost) and the reminder scan (reminders.h).
 *
 * Stopping: the first SIGTERM/SIGINT stops claiming; the job in hand finishes and is recorded;
 * worker_run returns 0. A second signal gives the job in hand back to the queue at the next
 * point the handler checks (queue_release; it runs again elsewhere, attempt + 1) and worker_run
 * returns at once with *interrupted set. A dead backing service never ends the loop: it is
 * logged once, retried every second, and logged again when it is back. */
#ifndef TASKD_WORKER_H
#define TASKD_WORKER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "mailer.h"

struct observer;
struct pg_pool;
struct queue;
struct task_repo;
struct worker;

struct worker_options {
    const char *worker_id; /* "host:pid", in every log line about a job */
    int visibility_s;      /* the queue's lease; the handler heartbeats at half of it */
    int max_attempts;      /* JOB_MAX_ATTEMPTS: a job runs at most min(this, its own) times */
    int backoff_base_ms;   /* JOB_BACKOFF_MS: retry n waits about base * 2^(n-1), capped */
    /* Fault injection (tests, and seeing retries happen): the first N attempts of every export
     * fail with "injected failure"; every export sleeps delay_ms before it finishes. */
    int fault_fail_export_attempts;
    int fault_export_delay_ms;
    /* Reminders: off when notify_email is NULL. */
    const char *notify_email;
    int reminder_lead_s;
    int reminder_scan_s;
    struct mailer_config mail; /* smtp_url NULL: no mail; progress is set by the worker */
    /* How many stop signals arrived (written by main's signal handler). */
    const volatile sig_atomic_t *stop_signals;
    /* Optional: called on the worker's thread after every turn of the loop and at every lease
     * heartbeat of a job in hand, so at least every second or so while the worker works: where
     * main gives its supervisor a sign of life and handles requests it noted in a signal
     * handler (a reload). Must be quick. */
    void (*tick)(void *ctx);
    void *tick_ctx;
    /* Optional: told how every attempt ended, by type (observer.h), for a stage that counts
     * them. Borrowed; NULL reports to nobody. */
    const struct observer *observer;
};

/* The worker borrows pool (jobs table, reminder scan), repo (the task store the handlers read)
 * and q; they must outlive it. 0, ERR_INVALID, ERR_NOMEM. */
int worker_new(const struct worker_options *o, struct pg_pool *pool, struct task_repo *repo,
               struct queue *q, struct worker **out);
void worker_free(struct worker *w); /* NULL is a no-op */

/* Runs until a stop signal. 0 after a clean stop; *interrupted is true when a second signal cut
 * a job short (it was given back to the queue). */
int worker_run(struct worker *w, bool *interrupted);

/* The delay before retry number `attempt` (1 = after the first failure): a uniformly random
 * value in [d/2, d] where d = min(base_ms * 2^(attempt-1), WORKER_BACKOFF_CAP_MS). Half of it
 * is fixed so the delays still grow; the other half is random so that jobs that failed
 * together (a database blip) do not all come back in the same millisecond. */
#define WORKER_BACKOFF_CAP_MS INT64_C(300000) /* 5 minutes */
int64_t worker_backoff_ms(int base_ms, int attempt);

#endif
