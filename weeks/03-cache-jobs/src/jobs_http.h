/* jobs_http.h — the HTTP face of background jobs: POST /exports, GET /jobs/{id} and
 * GET /exports/{id}.csv.
 *
 * The API process only records and reports: it inserts the job, hands its id to the queue and
 * answers 202; the worker (taskd-worker) does the export and stores the file with the job. */
#ifndef TASKD_JOBS_HTTP_H
#define TASKD_JOBS_HTTP_H

struct app;
struct locals;
struct pg_pool;
struct queue;

/* Adds the routes, serving from pool (the jobs table) and pushing new jobs to queue. queue may
 * be NULL (no Redis configured): jobs are then found by the worker's sweeper, later. Both must
 * outlive the server. 0 or an ERR_ code. */
int jobs_http_register(struct app *app, struct pg_pool *pool, struct queue *queue);

/* The type of the job this request queued ("export": POST /exports made a new one), or NULL.
 * Noted in the request's locals by the handler, for a later week that counts jobs where they
 * start (the pattern: xcache_http.h). */
const char *jobs_http_queued(const struct locals *l);

#endif
